#!/usr/bin/env bash
# The production-shaped smoke: what the image runs, run here, end to end.
#
#     scripts/smoke/production.sh [SOURCE_DIR]      (default: this checkout; .ci/run calls it)
#
# From SOURCE_DIR's committed tree (git archive HEAD: what a clean clone holds) it builds the wheel and
# installs it with requirements/main.txt --require-hashes into a fresh venv outside the checkout,
# through scripts/install-runtime.sh like the Dockerfile. In that venv: every module of the wheel must
# import (nothing but the locked runtime set is there); then, on PostgreSQL, with ENVIRONMENT=production,
# keys made with openssl, a JWKS file and an audit key: `cityservices --version`, `migrate`, both agency
# simulators as their own processes (each requiring a bearer token), a separate `worker`, and
# `serve --workers 2`. A citizen files a residence permit over HTTP, downloads the PDF and verifies it
# (POST /v1/verify); /metrics is read; JSON request-log lines with request ids must come from both
# worker processes, and no log line may be plain text; SIGTERM to serve and worker: both must exit 0.
# Any failure stops it with "PRODUCTION SMOKE FAILED" and the logs' tails. Needs python3 (3.11+),
# openssl, curl, git and PostgreSQL at 127.0.0.1:5432 (user postgres, trust), as .ci/run provides.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
source_dir="$(cd "${1:-$here}" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/cityservices-production-smoke.XXXXXX")"
db="cityservices_smoke_$$"
pids=()
current="setting up"

step() {
  current="$1"
  echo "== production smoke: $1"
}

say_failed() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "PRODUCTION SMOKE FAILED (exit $status) at: $current" >&2
    for log in "$work"/logs/*.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -n 25 "$log" >&2 || true
    done
  fi
  # Each started process leads a session of its own: stop the whole group (uvicorn's workers, PDF pools).
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
  [ "$status" -ne 0 ] && [ -n "${SMOKE_KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
  exit "$status"
}
trap say_failed EXIT

fail() {
  echo "$*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for URL SECONDS PID: until URL answers 2xx, while PID lives
  local url=$1 seconds=$2 pid=$3
  for _ in $(seq 1 $((seconds * 5))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "the process behind $url exited before answering"
    sleep 0.2
  done
  fail "$url did not answer within $seconds s"
}

wait_for_port() {  # wait_for_port PORT SECONDS PID: until something listens on PORT, while PID lives
  local port=$1 seconds=$2 pid=$3
  for _ in $(seq 1 $((seconds * 5))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "the process meant to listen on port $port exited"
    sleep 0.2
  done
  fail "nothing listened on port $port within $seconds s"
}

mkdir -p "$work/src" "$work/dist" "$work/secrets" "$work/logs" "$work/data" "$work/run"

step "build the wheel from the committed tree of $source_dir"
git -C "$source_dir" archive --format=tar HEAD | tar -x -C "$work/src"
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$work/dist" "$work/src" \
  > "$work/logs/build.log" 2>&1 || { cat "$work/logs/build.log" >&2; fail "the wheel did not build"; }
wheel="$(ls "$work"/dist/cityservices-*.whl)"
echo "built $(basename "$wheel")"

step "install it with requirements/main.txt --require-hashes into a fresh venv outside the checkout"
venv="$work/venv"
bash "$here/scripts/install-runtime.sh" "$venv" "$work/src/requirements/main.txt" "$wheel" > "$work/logs/install.log" 2>&1 \
  || fail "the install failed (install.log below)"
tail -n 1 "$work/logs/install.log"  # pip check's verdict
bin="$venv/bin"
echo "installed $("$bin/python" -m pip list --format=freeze | wc -l) distributions into $venv"

# Every process runs with this environment and nothing else of the caller's (no DATABASE_URL from CI, no
# PYTHONPATH that could reach the checkout), from a directory outside the checkout.
clean_env=(env -i "PATH=$bin:/usr/local/bin:/usr/bin:/bin" "HOME=$work" "LANG=C.UTF-8" "TMPDIR=$work/run")
# In the background, exec'd in a session of its own: $! is then the process itself (the one SIGTERM must
# reach) and the leader of a group the clean-up can stop whole, children included, whatever happens.
background() { exec setsid "$@"; }
cd "$work/run"

step "import every module of the installed wheel (demo aside: it needs the [demo] extra)"
"${clean_env[@]}" "$bin/python" - <<'PY'
import importlib, importlib.metadata, sys

files = importlib.metadata.distribution("cityservices").files or []
modules = sorted(
    ".".join(f.with_suffix("").parts).removesuffix(".__init__")
    for f in files
    if f.suffix == ".py" and f.parts[0] in ("app", "integrations", "migrations")
)
skipped = {"migrations.env"}  # runs only inside alembic
failed = []
for name in modules:
    if name in skipped:
        continue
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # report them all, then fail
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
        continue
    if not module.__file__.startswith(sys.prefix):
        failed.append(f"{name} came from {module.__file__}, not the venv")
print(f"imported {len(modules) - len(skipped) - len(failed)} of {len(modules) - len(skipped)} modules")
if failed:
    print("\n".join(failed), file=sys.stderr)
    sys.exit(1)
PY

step "keys made with openssl: the identity provider's (a JWKS file), the signing key and certificate, the audit key"
secrets="$work/secrets"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$secrets/idp-key.pem"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$secrets/signing-key.pem"
openssl req -new -x509 -key "$secrets/signing-key.pem" -days 30 -utf8 -subj "/C=CN/O=cityservices smoke/CN=cityservices signing" \
  -addext "keyUsage=critical,digitalSignature,nonRepudiation" -out "$secrets/signing-cert.pem"
openssl rand -hex 32 > "$secrets/audit-hmac.key"
"${clean_env[@]}" "$bin/python" - "$secrets/idp-key.pem" "$secrets/jwks.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key

numbers = load_pem_private_key(open(sys.argv[1], "rb").read(), None).public_key().public_numbers()
b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y), "kid": "smoke-idp", "use": "sig", "alg": "ES256"}
json.dump({"keys": [jwk]}, open(sys.argv[2], "w"))
PY
chmod 600 "$secrets"/*.pem "$secrets/audit-hmac.key"

police_port=$(free_port) housing_port=$(free_port) api_port=$(free_port) worker_metrics_port=$(free_port)
base="http://127.0.0.1:$api_port"
agency_token="$(openssl rand -hex 16)"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" postgres
production=(
  ENVIRONMENT=production
  "DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$db"
  "DATA_DIR=$work/data"
  "AUTH_JWKS_FILE=$secrets/jwks.json"
  AUTH_ISSUER=https://id.smoke.example
  AUTH_AUDIENCE=cityservices
  "POLICE_API_URL=http://127.0.0.1:$police_port"
  "HOUSING_API_URL=http://127.0.0.1:$housing_port"
  "POLICE_API_TOKEN=$agency_token"
  "HOUSING_API_TOKEN=$agency_token"
  "SIGNING_KEY_FILE=$secrets/signing-key.pem"
  "SIGNING_CERT_FILE=$secrets/signing-cert.pem"
  "AUDIT_HMAC_KEY=$(cat "$secrets/audit-hmac.key")"
  "PUBLIC_BASE_URL=$base"
)
run() { "${clean_env[@]}" "${production[@]}" "$@"; }

step "cityservices --version"
version="$(run "$bin/cityservices" --version)"
[[ "$version" == cityservices\ * ]] || fail "unexpected --version output: $version"
echo "$version"

step "cityservices migrate (PostgreSQL database $db)"
run "$bin/cityservices" migrate > "$work/logs/migrate.log" 2>&1 || { cat "$work/logs/migrate.log" >&2; fail "migrate failed"; }

step "the agency simulators, each its own process, each requiring a bearer token"
for agency in police housing; do
  port_var="${agency}_port"
  (background "${clean_env[@]}" "$bin/cityservices" simulate "$agency" --port "${!port_var}" --require-token "$agency_token") \
    > "$work/logs/$agency-simulator.log" 2>&1 &
  pids+=("$!")
  eval "${agency}_pid=$!"
done

step "cityservices worker, its own process"
(background "${clean_env[@]}" "${production[@]}" "$bin/cityservices" worker --metrics-port "$worker_metrics_port") \
  > "$work/logs/worker.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")

step "cityservices serve --workers 2 (ENVIRONMENT=production)"
(background "${clean_env[@]}" "${production[@]}" "$bin/cityservices" serve --host 127.0.0.1 --port "$api_port" --workers 2) \
  > "$work/logs/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_for_port "$police_port" 60 "$police_pid"
wait_for_port "$housing_port" 60 "$housing_pid"
wait_for "$base/healthz" 120 "$serve_pid"
wait_for "http://127.0.0.1:$worker_metrics_port/metrics" 60 "$worker_pid"

step "readiness: database, identity provider's keys, both agencies (with our token)"
ready=""
for _ in $(seq 1 50); do
  ready="$(curl -sS "$base/readyz" || true)"
  python3 -c 'import json, sys; b = json.loads(sys.argv[1]); sys.exit(0 if b["status"] == "ready" and not b["unavailable"] else 1)' "$ready" 2>/dev/null && break
  sleep 0.2
done
echo "/readyz: $ready"
python3 -c 'import json, sys; b = json.loads(sys.argv[1]); sys.exit(0 if b["status"] == "ready" and not b["unavailable"] else 1)' "$ready" \
  || fail "the service is not ready with every dependency ok"

step "a citizen files a residence permit, downloads the PDF and verifies it"
token="$("${clean_env[@]}" "$bin/python" - "$secrets/idp-key.pem" <<'PY'
import sys, time
import jwt  # PyJWT, which the runtime set holds for verifying

# An RFC 9068 access token as a stock provider issues it: typ at+jwt, no jti.
now = int(time.time())
claims = {"iss": "https://id.smoke.example", "aud": "cityservices", "sub": "smoke-citizen-1", "iat": now,
          "exp": now + 600, "roles": ["citizen"], "id_number": "330106198803120150", "name": "张伟"}
print(jwt.encode(claims, open(sys.argv[1]).read(), algorithm="ES256", headers={"kid": "smoke-idp", "typ": "at+jwt"}))
PY
)"
auth="Authorization: Bearer $token"
# A proof of address as a citizen's app would send it: a real one-page PDF (the service checks uploads'
# structure with pikepdf, which the runtime set therefore holds).
"${clean_env[@]}" "$bin/python" -c 'import pikepdf; pdf = pikepdf.new(); pdf.add_blank_page(); pdf.save("proof.pdf")'
material="$(curl -sS --fail-with-body -H "$auth" -F file=@proof.pdf "$base/v1/materials")"
material_id="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$material")"
curl -sS --fail-with-body -H "$auth" -H 'Content-Type: application/json' -o filed.json \
  -d "{\"service\":\"residence-permit\",\"details\":{\"address\":\"上海市长宁区虹桥路1号5号楼301室\",\"material_ids\":[\"$material_id\"]}}" \
  "$base/v1/applications" || { cat filed.json >&2; fail "filing failed"; }
serial="$(python3 -c 'import json; a = json.load(open("filed.json")); assert a["status"] == "issued", a; print(a["certificate"]["serial"])')"
curl -sS --fail-with-body -H "$auth" -o permit.pdf "$base/v1/certificates/$serial/pdf"
verdict="$(curl -sS --fail-with-body -F file=@permit.pdf "$base/v1/verify")"
echo "issued $serial; POST /v1/verify: $verdict"
python3 -c '
import json, sys
v = json.loads(sys.argv[1])
sys.exit(0 if v == {"signature_intact": True, "on_record": True, "serial": sys.argv[2], "status": "valid"} else 1)' \
  "$verdict" "$serial" || fail "the downloaded PDF did not verify"

step "metrics: the API's (all its processes) and the worker's"
curl -sS --fail-with-body "$base/metrics" > api-metrics.txt
grep -q '^cityservices_applications_filed_total{.*status="issued".*} 1.0$' api-metrics.txt \
  || fail "/metrics does not count the issued filing"
curl -sS --fail-with-body "http://127.0.0.1:$worker_metrics_port/metrics" | grep -q '^cityservices_pending_agency_applications ' \
  || fail "the worker's /metrics lacks its backlog gauge"
echo "/metrics counts the issued filing; the worker's /metrics answers"

step "request-log lines with request ids from both serve processes"
for _ in $(seq 1 200); do
  curl -sS --fail-with-body -o /dev/null "$base/v1/services"
  pids_seen="$(python3 - "$work/logs/serve.log" <<'PY'
import json, sys
pids = set()
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("logger") == "cityservices.access" and entry.get("request_id"):
        pids.add(entry["pid"])
print(len(pids))
PY
)"
  [ "$pids_seen" -ge 2 ] && break
done
[ "$pids_seen" -ge 2 ] || fail "request-log lines came from $pids_seen serve process(es), not 2"
python3 - "$work/logs/serve.log" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1], encoding="utf-8"):
    entry = json.loads(line)
    if entry.get("logger") == "cityservices.access" and entry.get("request_id") and entry["pid"] not in seen:
        seen[entry["pid"]] = line.strip()
for line in seen.values():
    print(line)
PY

step "SIGTERM to serve and worker: both drain and exit 0"
kill -TERM "$serve_pid" "$worker_pid"
set +e
wait "$serve_pid"; serve_status=$?
wait "$worker_pid"; worker_status=$?
set -e
echo "serve exited $serve_status, worker exited $worker_status"
[ "$serve_status" -eq 0 ] && [ "$worker_status" -eq 0 ] || fail "SIGTERM must end serve and worker with 0"

step "every log line of serve and worker is JSON (warnings included)"
python3 - "$work/logs/serve.log" "$work/logs/worker.log" <<'PY'
import json, sys
for path in sys.argv[1:]:
    lines = [line for line in open(path, encoding="utf-8") if line.strip()]
    plain = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            plain.append(line.rstrip())
    if plain:
        print(f"{path}: {len(plain)} of {len(lines)} lines are not JSON:", *plain[:10], sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"{path.rsplit('/', 1)[-1]}: {len(lines)} lines, all JSON")
PY

current="done"
echo "PRODUCTION SMOKE PASSED"
