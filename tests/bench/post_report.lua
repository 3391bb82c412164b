-- wrk script: POST one valid aggregate report (file in $LOCALDX_REPORT) to /api/v1/metrics.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("LOCALDX_REPORT"), "r"))
wrk.body = f:read("*a")
f:close()
