#!/usr/bin/env bash
# The README smoke: what a newcomer does, done on a fresh clone.
#
#     scripts/smoke/readme.sh [REPOSITORY [REF]]    (default: this checkout, HEAD; .ci/run calls it)
#
# Clones REPOSITORY at REF into a temporary directory, takes the README's first command out of its
# README.md (the first ```sh block, exactly as written: no copy of it lives here), and runs it there with
# bash, in a fresh venv it makes itself, resolving dependencies without the lock as a newcomer's pip
# does. It must bring http://127.0.0.1:8000/readyz to 200. Then, in the same directory with the venv
# activated, the README's first application with curl and every block of its walk-through (which ends
# with `cityservices demo`) run in the README's order against that service. Any failure stops it with
# "README SMOKE FAILED" and the logs' tails. The README's command serves on port 8000, which must be free.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
repository="${1:-$here}"
ref="${2:-HEAD}"
work="$(mktemp -d "${TMPDIR:-/tmp}/cityservices-readme-smoke.XXXXXX")"
clone="$work/clone"
base="http://127.0.0.1:8000"
service_pid=""
current="setting up"

step() {
  current="$1"
  echo "== README smoke: $1"
}

fail() {
  echo "$*" >&2
  exit 1
}

finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "README SMOKE FAILED (exit $status) at: $current" >&2
    for log in "$work"/*.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -n 30 "$log" >&2 || true
    done
  fi
  if [ -n "$service_pid" ]; then
    # The README's command runs in a session of its own: stop all of it (its shell and the service).
    kill -TERM -- "-$service_pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 -- "-$service_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$service_pid" 2>/dev/null || true
  fi
  [ "$status" -ne 0 ] && [ -n "${SMOKE_KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
  exit "$status"
}
trap finish EXIT

# A newcomer's shell: their PATH, home (and pip cache), locale, and the machine's pip and proxy settings;
# none of the service's settings (DATABASE_URL, ENVIRONMENT, …) nor any venv or PYTHONPATH of ours.
newcomer=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$HOME" "LANG=C.UTF-8" "TERM=dumb")
while IFS='=' read -r name _; do
  newcomer+=("$name=${!name}")
done < <(env | grep -E '^(PIP_[A-Z_]+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|SSL_CERT_FILE|SSL_CERT_DIR)=' || true)

step "a fresh clone of $repository at $ref"
git clone --quiet "$repository" "$clone"
git -C "$clone" checkout --quiet --detach "$ref"
echo "cloned $(git -C "$clone" rev-parse --short HEAD)"

step "the README's first command"
first_command="$(python3 - "$clone/README.md" <<'PY'
import re, sys
match = re.search(r"^```sh\n(.*?)^```", open(sys.argv[1], encoding="utf-8").read(), re.MULTILINE | re.DOTALL)
if match is None:
    sys.exit("README.md has no ```sh block")
print(match.group(1).strip())
PY
)"
echo "$first_command"
if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
  fail "port 8000 is in use: the README's command serves there"
fi
(cd "$clone" && exec setsid "${newcomer[@]}" bash -c "$first_command") > "$work/first-command.log" 2>&1 &
service_pid=$!

step "/readyz must answer 200 (the first command installs without the lock, then serves)"
started=$SECONDS
until [ "$(curl -s -o "$work/readyz.json" -w '%{http_code}' "$base/readyz" 2>/dev/null)" = "200" ]; do
  kill -0 "$service_pid" 2>/dev/null || fail "the README's first command exited before /readyz answered 200"
  [ $((SECONDS - started)) -lt "${README_SMOKE_TIMEOUT:-900}" ] || fail "/readyz did not answer 200 within ${README_SMOKE_TIMEOUT:-900} s"
  sleep 1
done
echo "/readyz 200 after $((SECONDS - started)) s: $(cat "$work/readyz.json")"

step "the README's first application with curl, then its walk-through (ending with the demo), in order"
python3 - "$clone/README.md" > "$work/newcomer-paths.sh" <<'PY'
import re, sys
markdown = open(sys.argv[1], encoding="utf-8").read()
blocks = []
for title in ("A first application with curl", "Walk-through"):
    section = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    if section is None:
        sys.exit(f"README.md has no '## {title}' section")
    blocks += re.findall(r"^```sh\n(.*?)^```\s*$", section.group(1), re.MULTILINE | re.DOTALL)
# One shell, as a person pasting the blocks in order; stop at the first failing command.
print("set -eo pipefail\n. .venv/bin/activate")
print("\n".join(blocks))
PY
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The walk-through's notification part starts a receiver, a simulator and a second service: free ports.
(cd "$clone" && "${newcomer[@]}" RECEIVER_PORT="$(free_port)" POLICE_PORT="$(free_port)" NOTIFYING_PORT="$(free_port)" \
  bash "$work/newcomer-paths.sh") > "$work/newcomer-paths.log" 2>&1 \
  || fail "a README block failed (newcomer-paths.log below)"
grep -E "saved as permit.pdf|the whole story in" "$work/newcomer-paths.log" || fail "the newcomer paths did not finish"

current="done"
echo "README SMOKE PASSED"
