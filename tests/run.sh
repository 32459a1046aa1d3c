#!/usr/bin/env bash
# Runs every test of the solution. Installs what the tests need first (Debian and npm packages), so it works on a
# fresh machine; .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

# Debian packages the tests use, each by name: --no-install-recommends keeps the install small, so every module a
# tool only recommends is listed here itself (swaks without libnet-ssleay-perl has no STARTTLS, for example).
apt_packages=(
  swaks                   # SMTP client in the listener and standalone tests
  libnet-ssleay-perl      # swaks: STARTTLS and implicit TLS
  libio-socket-ssl-perl   # swaks: TLS
  libio-socket-inet6-perl # swaks: IPv6
  libnet-dns-perl         # swaks: MX lookups (it loads the module at start)
  libauthen-sasl-perl     # swaks: AUTH mechanisms beyond PLAIN and LOGIN
  postfix                 # smtp-sink and smtp-source (test relays, delivery faults)
  python3-dkim            # dkimverify: the independent DKIM verifier
  chromium                # the dashboard's browser tests (Playwright drives it: ExecutablePath, no browser download)
  fonts-dejavu-core       # chromium: text in the dashboard's screenshots
  fonts-liberation        # chromium: the sans-serif and monospace fallbacks
  libgl1-mesa-dri         # chromium: recommended (Mesa drivers for its GL/ANGLE fallback); installed here by name so a
                          # clean machine renders screenshots like this one (its other recommends are desktop services)
)
need_apt=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$package")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "== missing Debian packages: ${need_apt[*]}; run as root or install them first" >&2
    exit 1
  fi
  echo "== installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Every tool must work before a test relies on it: a missing module shows up here, not as one failing test.
tool_problems=()
swaks_support="$(swaks --support 2>&1 || true)"
grep -q '^=== TLS supported' <<<"$swaks_support" || tool_problems+=("swaks has no TLS: $(grep -i 'TLS' <<<"$swaks_support" | head -1)")
grep -q '^=== IPv6 supported' <<<"$swaks_support" || tool_problems+=("swaks has no IPv6 support")
[ -x /usr/sbin/smtp-sink ] || tool_problems+=("/usr/sbin/smtp-sink is missing (postfix)")
[ -x /usr/sbin/smtp-source ] || tool_problems+=("/usr/sbin/smtp-source is missing (postfix)")
sink_usage="$(/usr/sbin/smtp-sink 2>&1 || true)"
grep -q 'usage:' <<<"$sink_usage" || tool_problems+=("/usr/sbin/smtp-sink does not run: $sink_usage")
postconf -d mail_version >/dev/null 2>&1 || tool_problems+=("postconf does not run (postfix)")
dkimverify --help >/dev/null 2>&1 || tool_problems+=("dkimverify does not run (python3-dkim)")
chromium_version="$(chromium --headless --no-sandbox --version 2>/dev/null | grep -i '^chromium' || true)"
[ -n "$chromium_version" ] || tool_problems+=("chromium does not run headless (chromium --headless --version)")
chromium_dom="$(timeout 60 chromium --headless --no-sandbox --disable-gpu --dump-dom 'data:text/html,<p>ok-from-chromium</p>' 2>/dev/null || true)"
grep -q 'ok-from-chromium' <<<"$chromium_dom" || tool_problems+=("chromium --headless cannot render a page (--dump-dom)")
if [ ${#tool_problems[@]} -gt 0 ]; then
  printf '== a test tool does not work: %s\n' "${tool_problems[@]}" >&2
  exit 1
fi
echo "== tools: $(swaks --version 2>&1 | head -1), postfix $(postconf -dh mail_version), dkimverify ok, $chromium_version"

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
failures = []
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    for r in ET.parse(f).getroot().iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        if r.get("outcome") in ("Failed", "Error", "Timeout"):
            msg = r.find(".//{*}Message")
            text = (msg.text or "") if msg is not None else ""
            failures.append((r.get("testName"), " ".join(text.split())[:600]))
# The failures last, so that the end of a CI log names them.
for name, text in failures:
    print(f"FAILED {name}: {text}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
