#!/usr/bin/env bash
# The Azure delivery worker's code path per message on one machine: the Service Bus adapter's dispatcher →
# DeliveryJobHandler → SmtpDeliveryEngine → smtp-sink on loopback (TLS off by explicit option, 4 KB), with the
# in-memory broker of the adapter tests (InMemoryServiceBus, behind the adapter's seams) instead of Service Bus, against
# the engine alone in the same process and the same rounds. Rows: engine alone; dispatcher + a handler that only
# completes; the full path with status and content in memory; the full path on Azurite's Table and Blob (the real
# adapters); the Table status writes alone. Azurite is not Azure: its rows say what the adapters ask of storage
# (requests per message) and what the SDK costs us in CPU, not Azure's latency.
# Usage: [AZURITE_HTTPS=1] bench/servicebus-worker.sh [messages=5000] [in_flight=20] [rounds=3] [azurite_messages=messages/5]
source "$(dirname "$0")/lib.sh"
messages=${1:-5000}; in_flight=${2:-20}; rounds=${3:-3}; azurite_messages=${4:-$((messages / 5))}
ensure_debian postfix
build_bench

azurite_exe="$repo_dir/tests/azurite/node_modules/.bin/azurite"
if [ ! -x "$azurite_exe" ]; then
  echo "installing azurite (tests/azurite, pinned)" >&2
  (cd "$repo_dir/tests/azurite" && npm ci --no-audit --no-fund --loglevel=error)
fi
azurite_dir=$(mktemp -d /tmp/mailgateway-bench-azurite.XXXXXX)
# AZURITE_HTTPS=1: Azurite on HTTPS with a certificate made here for 127.0.0.1 (the bench trusts exactly that one), to
# see what TLS adds to the storage clients' CPU per request.
scheme=http; tls_args=()
if [ "${AZURITE_HTTPS:-0}" = 1 ]; then
  scheme=https
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$azurite_dir/key.pem" -out "$azurite_dir/cert.pem" 2>/dev/null
  tls_args=(--cert "$azurite_dir/cert.pem" --key "$azurite_dir/key.pem")
  export MAILGATEWAY_BENCH_AZURITE_CERT="$azurite_dir/cert.pem"
fi
"$azurite_exe" --location "$azurite_dir" --blobHost 127.0.0.1 --blobPort 0 --tableHost 127.0.0.1 --tablePort 0 \
  --queueHost 127.0.0.1 --queuePort 0 --disableTelemetry --skipApiVersionCheck --loose "${tls_args[@]}" >"$azurite_dir/azurite.log" 2>&1 &
azurite_pid=$!
cleanup_add "kill $azurite_pid; sleep 0.5; rm -rf $azurite_dir"
blob_port=; table_port=
for _ in $(seq 1 600); do
  blob_port=$(sed -n 's/.*Blob service is successfully listening at https*:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$azurite_dir/azurite.log")
  table_port=$(sed -n 's/.*Table service is successfully listening at https*:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$azurite_dir/azurite.log")
  [ -n "$blob_port" ] && [ -n "$table_port" ] && break
  kill -0 "$azurite_pid" 2>/dev/null || { cat "$azurite_dir/azurite.log" >&2; echo "azurite did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$blob_port" ] && [ -n "$table_port" ] || { echo "azurite did not report its ports" >&2; exit 1; }
account=devstoreaccount1
# The storage emulator's well-known development key (public, the same in every Azurite).
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export MAILGATEWAY_BENCH_AZURITE="DefaultEndpointsProtocol=$scheme;AccountName=$account;AccountKey=$key;BlobEndpoint=$scheme://127.0.0.1:$blob_port/$account;TableEndpoint=$scheme://127.0.0.1:$table_port/$account;"
export MAILGATEWAY_BENCH_AZURITE_PID=$azurite_pid

start_sink
echo "start: $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg), Azurite on $scheme" >&2
$bench_exe servicebus "127.0.0.1:$sink_port" "$messages" "$in_flight" "$rounds" "$azurite_messages"
echo "end: $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
