-- wrk script: cycles through the requests in the file named by the first script argument, one
-- per line, tab-separated: METHOD, PATH, bearer token ("-": none), body ("-": none).
-- Usage: wrk ... -s mixed.lua URL -- REQUESTS
local requests = {}
local n = 0
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, bearer, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
    local headers = {}
    if bearer ~= "-" then headers["Authorization"] = "Bearer " .. bearer end
    if body ~= "-" then headers["Content-Type"] = "application/json" else body = nil end
    n = n + 1
    requests[n] = wrk.format(method, path, headers, body)
  end
  i = math.random(n)
end

function request()
  i = i % n + 1
  return requests[i]
end

local failures = 0
function response(status, headers, body)
  if status >= 500 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. body .. "\n") end
  end
end
