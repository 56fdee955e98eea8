-- SPDX-License-Identifier: AGPL-3.0-or-later
-- One wrk script for every scenario of bench/bench.py, configured by the
-- environment:
--   REFX_METHOD     GET (default), PUT, PROPFIND, ...
--   REFX_PATH       request path; "{n}" becomes "<thread>-<k>" with k
--                   counting up, modulo REFX_CYCLE when that is set
--                   (uploads overwrite a bounded set of names)
--   REFX_HEADERS    "Name: value" lines separated by newlines
--   REFX_BODY_FILE  file whose bytes are the request body
-- done() prints one line "RESULT {json}" that bench.py parses.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  cycle = tonumber(os.getenv("REFX_CYCLE") or "0")
  method = os.getenv("REFX_METHOD") or "GET"
  path = os.getenv("REFX_PATH") or "/"
  headers = {}
  for line in (os.getenv("REFX_HEADERS") or ""):gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k] = v end
  end
  local bf = os.getenv("REFX_BODY_FILE")
  if bf and bf ~= "" then
    local f = assert(io.open(bf, "rb"))
    body = f:read("*a")
    f:close()
  end
end

function request()
  counter = counter + 1
  local k = counter
  if cycle > 0 then k = counter % cycle end
  local p = path:gsub("{n}", tid .. "-" .. k)
  return wrk.format(method, p, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"socket_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
