#!/usr/bin/env bash
# Runs every test of the solution. Installs what the tests need first (Debian and npm packages), so it works on a
# fresh machine; .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

need_apt=()
command -v swaks >/dev/null 2>&1 || need_apt+=(swaks)
[ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "== missing Debian packages (${need_apt[*]}); run as root or install them: tests that need them will fail" >&2
  fi
fi

# Azurite for the Blob/Table tests, installed locally under tests/azurite (pinned in its package-lock.json).
if [ ! -x tests/azurite/node_modules/.bin/azurite ]; then
  echo "== installing azurite"
  (cd tests/azurite && npm ci --no-audit --no-fund --loglevel=error)
fi

# One Azurite for the whole run (random ports, temp folder); the tests read its endpoints from the environment.
azurite_dir="$(mktemp -d)"
azurite_log="$azurite_dir/azurite.log"
tests/azurite/node_modules/.bin/azurite --location "$azurite_dir" --blobHost 127.0.0.1 --blobPort 0 \
  --tableHost 127.0.0.1 --tablePort 0 --queueHost 127.0.0.1 --queuePort 0 \
  --disableTelemetry --skipApiVersionCheck --loose >"$azurite_log" 2>&1 &
azurite_pid=$!
stop_azurite() {
  kill "$azurite_pid" 2>/dev/null || true
  wait "$azurite_pid" 2>/dev/null || true
  rm -rf "$azurite_dir" 2>/dev/null || true
}
trap stop_azurite EXIT
for _ in $(seq 1 600); do
  blob_port=$(sed -n 's/.*Blob service is successfully listening at http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$azurite_log")
  table_port=$(sed -n 's/.*Table service is successfully listening at http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$azurite_log")
  [ -n "$blob_port" ] && [ -n "$table_port" ] && break
  kill -0 $azurite_pid 2>/dev/null || { cat "$azurite_log" >&2; echo "azurite did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$blob_port" ] && [ -n "$table_port" ] || { cat "$azurite_log" >&2; echo "azurite did not report its ports" >&2; exit 1; }
export MAILGATEWAY_TEST_AZURITE_BLOB="http://127.0.0.1:$blob_port/devstoreaccount1"
export MAILGATEWAY_TEST_AZURITE_TABLE="http://127.0.0.1:$table_port/devstoreaccount1"
echo "== azurite: blob $blob_port, table $table_port"

results="$root/TestResults"
rm -rf "$results"
echo "== dotnet test"
set +e
dotnet test MailGateway.sln -c Release --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  -- RunConfiguration.TreatNoTestsAsError=true
status=$?
set -e

# One closing line for the whole run, summed over every test assembly's TRX file.
python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    c = ET.parse(f).getroot().find(".//{*}Counters")
    if c is None: continue
    passed += int(c.get("passed", 0)); failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0))
    skipped += int(c.get("notExecuted", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
