-- wrk script of the soak: GET requests over the paths in SOAK_PATHS (space-separated), in turn,
-- with the API key in SOAK_API_KEY.
local key = os.getenv("SOAK_API_KEY")
local paths = {}
for p in string.gmatch(os.getenv("SOAK_PATHS") or "/healthz", "%S+") do
  paths[#paths + 1] = p
end
local i = 0

request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {["Authorization"] = "ApiKey " .. key})
end
