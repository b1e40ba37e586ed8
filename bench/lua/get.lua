-- GET the URL given to wrk. BENCH_TOKEN: sent as "Authorization: Bearer <token>";
-- BENCH_SESSION_ID: sent as X-Session-Id. Either may be unset.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = "GET"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local session = os.getenv("BENCH_SESSION_ID")
if session and session ~= "" then
  wrk.headers["X-Session-Id"] = session
end
