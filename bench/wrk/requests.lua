-- wrk script for bench/run.py and bench/instructions.py: one GET per line of a requests file, in turn.
--
--   wrk -t1 -c64 -d10s -s bench/wrk/requests.lua http://127.0.0.1:PORT -- FILE [XFF_EVERY [XFF_BASE]]
--
-- FILE: one request per line, "<path>\t<bearer token or ->". Each connection thread walks the file
-- from its own offset. XFF_EVERY > 0: add `X-Forwarded-For: 10.<thread>.<n>.<m>`, a new address every
-- XFF_EVERY requests (public verification is limited per client address; the service trusts
-- X-Forwarded-For from loopback); the second octet is XFF_BASE + thread, so that consecutive runs
-- (a warm-up, then the measured run) use different addresses. The bare endpoint and the service's reads go through this same script,
-- so the per-request cost of the client is the same for both. At the end, one line
-- "WRK_JSON {...}" with the counts, errors and latency percentiles (microseconds).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0
local sent = 0
local every = 0
local base = 0

function init(args)
  local file = args[1]
  every = tonumber(args[2] or "0") or 0
  base = tonumber(args[3] or "0") or 0
  for line in io.lines(file) do
    local path, token = line:match("^([^\t]+)\t?(.*)$")
    if path then
      local headers = {}
      if token ~= nil and token ~= "" and token ~= "-" then
        headers["Authorization"] = "Bearer " .. token
      end
      n = n + 1
      reqs[n] = { path = path, headers = headers }
    end
  end
  if n == 0 then
    error("no requests in " .. tostring(file))
  end
  i = ((tid or 1) * 7919) % n
end

function request()
  i = i % n + 1
  local r = reqs[i]
  if every > 0 then
    local a = math.floor(sent / every)
    r.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", (base + (tid or 1)) % 250, math.floor(a / 256) % 256, a % 256)
  end
  sent = sent + 1
  return wrk.format("GET", r.path, r.headers, nil)
end

function done(summary, latency, requests)
  local p = {}
  for _, q in ipairs({ 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9 }) do
    table.insert(p, string.format('"%s": %d', tostring(q), latency:percentile(q)))
  end
  local e = summary.errors
  local json = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "max": %d, "percentiles": {%s}}}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(p, ", "))
  io.write("WRK_JSON " .. json .. "\n")
end
