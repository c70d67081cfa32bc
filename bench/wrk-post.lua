-- wrk script: POST 1 KB JSON bodies round-robin over the ingest URLs in paths.txt
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local i = 0
wrk.method = "POST"
wrk.body = '{"tag":"ingest","pad":"' .. string.rep("x", 990) .. '"}'
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1])
end
