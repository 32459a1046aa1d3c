# Shared helpers for the benchmark scripts (sourced, not run). Every process a script starts is registered with
# `cleanup_add` and stopped on exit.
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$bench_dir/.." && pwd)"
_cleanup=()
cleanup_add() { _cleanup+=("$1"); }
_run_cleanup() { local i; for ((i=${#_cleanup[@]}-1; i>=0; i--)); do eval "${_cleanup[$i]}" >/dev/null 2>&1 || true; done; }
trap _run_cleanup EXIT

# Debian tools: Postfix (smtp-sink, smtp-source, the reference MTA), hey (HTTP load).
ensure_debian() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Command-line settings that put the standalone host's SMTP submission on a free loopback port.
submission_args() { echo "--MailGateway:Submission:Endpoints:0:Address=127.0.0.1 --MailGateway:Submission:Endpoints:0:Port=$(free_port)"; }

wait_port() { # wait_port PORT [seconds]
  local deadline=$((SECONDS + ${2:-30}))
  until python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "port $1 did not open" >&2; return 1; }
    sleep 0.05
  done
}

now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1/($3-$2):.0f}')"; }    # rate COUNT T0 T1
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }         # ratio A B
# CPU time (user + system) a process has used so far, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# cpu_us_per TICKS_BEFORE TICKS_AFTER COUNT -> µs of CPU per item
cpu_us_per() { python3 -c "print(f'{($2-$1)*1e6/$(getconf CLK_TCK)/$3:.0f}')"; }

# start_sink: starts smtp-sink on a free port and sets $sink_port. Not called as $(start_sink): the cleanup it
# registers must live in this shell, or the sink outlives the script.
start_sink() {
  sink_port=$(free_port)
  smtp-sink -u nobody "127.0.0.1:$sink_port" 1000 >/dev/null 2>&1 &
  cleanup_add "kill $!"
  wait_port "$sink_port"
}

# A private Postfix instance (own config, queue and log under a temp dir), relaying everything to RELAY_PORT,
# listening for SMTP on SMTPD_PORT. Sets $pf_dir.
start_postfix() { # start_postfix SMTPD_PORT RELAY_PORT [extra main.cf lines...]
  local smtpd_port=$1 relay_port=$2; shift 2
  pf_dir=$(mktemp -d /tmp/mailgateway-bench-postfix.XXXXXX)
  chmod 755 "$pf_dir"
  mkdir -p "$pf_dir/etc" "$pf_dir/queue" "$pf_dir/data"
  chown postfix "$pf_dir/data"
  sed "s/^smtp      inet/127.0.0.1:$smtpd_port inet/" /etc/postfix/master.cf > "$pf_dir/etc/master.cf"
  cat > "$pf_dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf_dir/queue
data_directory = $pf_dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$relay_port
smtp_tls_security_level = none
smtpd_tls_security_level = none
default_process_limit = 250
smtp_destination_concurrency_limit = 20
maillog_file = $pf_dir/maillog
maillog_file_prefixes = $pf_dir
CF
  local line; for line in "$@"; do echo "$line" >> "$pf_dir/etc/main.cf"; done
  postfix -c "$pf_dir/etc" start >/dev/null 2>&1 || { cat "$pf_dir/maillog" >&2; return 1; }
  cleanup_add "postfix -c $pf_dir/etc stop; sleep 0.5; rm -rf $pf_dir"
  wait_port "$smtpd_port"
}

postfix_queue_empty() { postqueue -c "$pf_dir/etc" -p 2>/dev/null | grep -q "Mail queue is empty"; }

wait_postfix_queue_empty() { # wait_postfix_queue_empty [seconds]
  local deadline=$((SECONDS + ${1:-600}))
  until postfix_queue_empty; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}

build_bench() {
  dotnet build -c Release "$repo_dir/bench/MailGateway.Bench" -v q -nologo >/dev/null
  bench_exe="dotnet $repo_dir/bench/MailGateway.Bench/bin/Release/net10.0/MailGateway.Bench.dll"
}

# The standalone gateway (API, SQLite queue, worker) with its data under WORKDIR, relaying to smtp-sink on SINK_PORT
# with TLS off by explicit option, and one API key ($api_key, may send from example.com) whose rate limit is raised
# above what any script sends (the limiter still runs on every request; the default 100/s would refuse a fill with 429). Sets $gw_pid; registers
# a stop. Extra arguments are configuration switches (e.g. --MailGateway:DeliveryWorker:Enabled=false). Waits
# $gateway_start_timeout seconds (default 30) for the port. Environment variables in the array $gateway_env
# (VAR=value each, e.g. DOTNET_GCgen0size=…) are set for the gateway only.
gateway_env=()
api_key=bench-key-0123456789
build_gateway() { dotnet build -c Release "$repo_dir/src/MailGateway.Standalone" -v q -nologo >/dev/null; }
start_gateway() { # start_gateway WORKDIR API_PORT SINK_PORT [--Setting=value...]
  local dir=$1 port=$2 sink=$3; shift 3
  local hash; hash=$(printf '%s' "$api_key" | sha256sum | cut -d' ' -f1)
  # SMTP submission on a free port unless the caller chose one (its defaults 2587/2465 may be taken by another gateway).
  [[ " $* " == *Submission:Endpoints* ]] || set -- "$@" $(submission_args)
  (cd "$dir" && exec env "${gateway_env[@]}" dotnet "$repo_dir/src/MailGateway.Standalone/bin/Release/net10.0/MailGateway.Standalone.dll" --urls "http://127.0.0.1:$port" \
    --MailGateway:Relay:Host=127.0.0.1 --MailGateway:Relay:Endpoints:0:Port="$sink" --MailGateway:Relay:TlsPolicy=None \
    --MailGateway:Api:Keys:0:Id=bench --MailGateway:Api:Keys:0:Sha256="$hash" --MailGateway:Api:Keys:0:AllowedSenderDomains:0=example.com \
    --MailGateway:RateLimits:PerKeyBurst=1000000000 --MailGateway:RateLimits:PerKeyRate=1000000000 \
    --Logging:LogLevel:Default=Warning "$@" >>"$dir/gateway.log" 2>&1) &
  gw_pid=$!
  cleanup_add "kill $gw_pid"
  wait_port "$port" "${gateway_start_timeout:-30}"
}

stop_gateway() { kill "$gw_pid" 2>/dev/null || true; local i; for i in $(seq $((${gateway_start_timeout:-10} * 10))); do kill -0 "$gw_pid" 2>/dev/null || return 0; sleep 0.1; done; return 1; }

# Waits until COUNT messages of the gateway in WORKDIR are Delivered; fails the script after 600 s.
wait_delivered() { # wait_delivered WORKDIR COUNT [LABEL]
  local deadline=$((SECONDS + 600))
  until [ "$(gateway_count "$1" Delivered)" -ge "$2" ]; do
    [ $SECONDS -lt $deadline ] || { echo "${3:+$3: }not all delivered after 600 s" >&2; exit 1; }
    sleep 0.05
  done
}

# Messages of the gateway in WORKDIR in a given state (read from its SQLite database; WAL allows a reader alongside).
gateway_count() { sqlite3 "$1/data/gateway.db" "SELECT count(*) FROM messages WHERE state = '$2';" 2>/dev/null || echo 0; }
