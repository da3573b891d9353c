-- wrk script of benchmarks/http_entries.py: sends the requests of a file in rotation.
--
--   wrk -t2 -c32 -d20s --latency -s rotate.lua http://127.0.0.1:PORT REQUESTS_FILE THREADS [OFFSET]
--
-- Each line of REQUESTS_FILE is  METHOD <tab> PATH <tab> TOKEN <tab> BODY  (TOKEN and BODY may be
-- empty). Every request is formatted once, in init(); thread t of T then sends lines OFFSET+t,
-- OFFSET+t+T, OFFSET+t+2T, … (wrapping around), so no two threads send the same line in one pass.
-- done() prints one machine-readable line: latency percentiles in microseconds, requests, errors, and
-- next_offset (the first line no thread reached: where a later run continues without re-sending any).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local prepared, count, position, step = {}, 0, 0, 1

function init(args)
  local file, nthreads, offset = args[1], tonumber(args[2]), tonumber(args[3] or "0")
  for line in io.lines(file) do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method then
      local headers = {}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body == "" then body = nil else headers["Content-Type"] = "application/json" end
      count = count + 1
      prepared[count] = wrk.format(method, path, headers, body)
    end
  end
  if count == 0 then error("no requests in " .. tostring(file)) end
  step = nthreads or 1
  position = offset + (thread_id or 1) - 1
end

function request()
  local r = prepared[(position % count) + 1]
  position = position + step
  return r
end

function done(summary, latency, requests)
  local e, next_offset = summary.errors, 0
  for _, thread in ipairs(threads) do
    next_offset = math.max(next_offset, thread:get("position") or 0)
  end
  io.write(string.format(
    "WRK_RESULT requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p95_us=%.0f p99_us=%.0f mean_us=%.0f"
      .. " max_us=%.0f connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f next_offset=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, next_offset))
end
