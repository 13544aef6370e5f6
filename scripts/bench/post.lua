-- wrk script: POSTs a new, unique run per request (date codes never repeat within one run of wrk).
-- The first 200,000 requests are formatted in init(), before wrk starts its clock, so the load
-- generator's per-request Lua work does not compete with the server for this machine's cores
-- (GET /health, the ceiling, needs none); beyond them each request is formatted when sent.
local counter = 0
local tag = "x"
local prebuilt = {}
local prebuilt_count = 200000

local function format_request(n)
  local body = string.format(
    '{"start_local":"2026-01-01 00:00:00","end_local":"2026-01-01 00:01:00",' ..
    '"start_utc":"2026-01-01T00:00:00Z","end_utc":"2026-01-01T00:01:00Z","elapsed_seconds":60.5,' ..
    '"elapsed_human":"1m 0s","output_file":"/bench/out.csv","rowcount":%d,"log_file":"/bench/run.log","pid":4242,' ..
    '"date_code":"bench_%s_%d","pipeline_name":"bench_post","script_name":"bench.py","pipeline_type":"batch",' ..
    '"environment":"bench"}', n, tag, n)
  return wrk.format("POST", "/pipelines", {["Content-Type"] = "application/json"}, body)
end

function init(args)
  tag = args[1] or tostring(os.time())
  for n = 1, prebuilt_count do
    prebuilt[n] = format_request(n)
  end
end

function request()
  counter = counter + 1
  return prebuilt[counter] or format_request(counter)
end
