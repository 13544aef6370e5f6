-- wrk script: POSTs a new, unique run per request (date codes never repeat within one run of wrk).
local counter = 0
local tag = "x"

function init(args)
  tag = args[1] or tostring(os.time())
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"start_local":"2026-01-01 00:00:00","end_local":"2026-01-01 00:01:00",' ..
    '"start_utc":"2026-01-01T00:00:00Z","end_utc":"2026-01-01T00:01:00Z","elapsed_seconds":60.5,' ..
    '"elapsed_human":"1m 0s","output_file":"/bench/out.csv","rowcount":%d,"log_file":"/bench/run.log","pid":4242,' ..
    '"date_code":"bench_%s_%d","pipeline_name":"bench_post","script_name":"bench.py","pipeline_type":"batch",' ..
    '"environment":"bench"}', counter, tag, counter)
  return wrk.format("POST", "/pipelines", {["Content-Type"] = "application/json"}, body)
end
