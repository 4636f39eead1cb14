-- wrk script: POST /v1/validate cycling through the request bodies in the file named by the
-- first script argument (one JSON object per line). Usage: wrk ... -s validate.lua URL -- BODIES
local bodies = {}
local n = 0
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    bodies[n] = line
  end
  -- Threads start at different offsets so that they do not request the same keys in step.
  i = math.random(n)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  i = i % n + 1
  return wrk.format(nil, "/v1/validate", nil, bodies[i])
end

local failures = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"ok":true', 1, true) then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. body .. "\n") end
  end
end
