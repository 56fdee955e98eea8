-- SPDX-License-Identifier: AGPL-3.0-or-later
-- Mixed traffic for bench/soak.py: each request is the next of a fixed
-- rotation (REFX_SOAK_* from the environment): API calls with an app
-- password, session-cookie calls, the shares list, PROPFIND, 5 MiB
-- downloads over WebDAV and a public link, report ingests (by another staff
-- account, so the shares list read stays the same size) and link opens.
-- done() prints "RESULT {json}" with the status histogram.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  statuses = {}
  local basic = os.getenv("REFX_SOAK_BASIC")
  local cookie = os.getenv("REFX_SOAK_COOKIE")
  local ocs = { ["OCS-APIRequest"] = "true", ["Authorization"] = basic }
  local f = assert(io.open(os.getenv("REFX_SOAK_INGEST_BODY"), "rb"))
  local ingest = f:read("*a")
  f:close()
  local pf = assert(io.open(os.getenv("REFX_SOAK_PROPFIND_BODY"), "rb"))
  local propfind = pf:read("*a")
  pf:close()
  local dav = os.getenv("REFX_SOAK_DAV")
  reqs = {
    wrk.format("GET", "/ocs/v2.php/cloud/user?format=json", ocs),
    wrk.format("GET", "/ocs/v2.php/cloud/capabilities?format=json",
      { ["OCS-APIRequest"] = "true", ["Cookie"] = cookie }),
    wrk.format("GET", "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json", ocs),
    wrk.format("PROPFIND", dav .. "/P200/", { ["Authorization"] = basic,
      ["Depth"] = "1", ["Content-Type"] = "application/xml" }, propfind),
    wrk.format("GET", dav .. "/big.bin", { ["Authorization"] = basic }),
    wrk.format("GET", "/s/" .. os.getenv("REFX_SOAK_LINK") .. "/download", {}),
    wrk.format("GET", "/s/" .. os.getenv("REFX_SOAK_LINK"), {}),
    wrk.format("GET", "/ocs/v2.php/apps/referrals/api/v1/reports?format=json",
      { ["OCS-APIRequest"] = "true", ["Authorization"] = os.getenv("REFX_SOAK_REF") }),
    wrk.format("GET", "/status.php", {}),
  }
  local ingest_auth = os.getenv("REFX_SOAK_INGEST")
  ingest_req = function(n)
    return wrk.format("POST", "/ocs/v2.php/apps/referrals/api/v1/reports?format=json",
      { ["OCS-APIRequest"] = "true", ["Authorization"] = ingest_auth,
        ["Content-Type"] = "multipart/form-data; boundary=soakboundary",
        ["Idempotency-Key"] = "soak-" .. tid .. "-" .. n }, ingest)
  end
end

function request()
  counter = counter + 1
  if counter % 20 == 0 then return ingest_req(counter) end
  return reqs[(counter % #reqs) + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local hist = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do hist[k] = (hist[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(hist) do table.insert(parts, string.format('"%d":%d', k, v)) end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"socket_errors":%d,"timeouts":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, table.concat(parts, ",")))
end
