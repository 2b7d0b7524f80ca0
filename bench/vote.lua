-- wrk script: POST a valid JSON vote as a new simulated voter on every request.
--
--   wrk -s bench/vote.lua URL -- TOKENS_FILE PATH ORIGIN OPTIONS [FIRST_VOTER]
--
-- TOKENS_FILE holds "cookie<TAB>csrf token" lines fetched beforehand (wrk keeps
-- no cookies, so a pre-fetched session that has not voted is sent every time
-- and the server's updated cookie is ignored). Each request carries a fresh
-- X-Forwarded-For, so each is a new network to the service's duplicate check;
-- FIRST_VOTER (default 0) lets consecutive runs (the soak) use new networks.
-- Counts answers by status and prints them as one JSON line at the end.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   tokens = {}
   for line in io.lines(args[1]) do
      local cookie, token = line:match("^([^\t]+)\t(.+)$")
      if cookie then table.insert(tokens, { cookie = cookie, token = token }) end
   end
   vote_path = args[2]
   origin = args[3]
   options = {}
   for option in args[4]:gmatch("[^,]+") do table.insert(options, option) end
   counter = tonumber(args[5] or "0")
   statuses = {}
end

function request()
   counter = counter + 1
   local pair = tokens[(counter + id) % #tokens + 1]
   -- 10.0.0.0/8 for thread 0, 11.0.0.0/8 for thread 1, ...: 16 million voters each.
   local address = string.format("%d.%d.%d.%d", 10 + id,
      math.floor(counter / 65536) % 256, math.floor(counter / 256) % 256, counter % 256)
   local body = '{"option": "' .. options[counter % #options + 1] .. '"}'
   return wrk.format("POST", vote_path, {
      ["Content-Type"] = "application/json",
      ["Origin"] = origin,
      ["Cookie"] = pair.cookie,
      ["X-CSRFToken"] = pair.token,
      ["X-Forwarded-For"] = address,
   }, body)
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         merged[status] = (merged[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(merged) do
      table.insert(parts, string.format('"%s": %d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us": %d, "requests": %d, "statuses": {%s}, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
      summary.duration, summary.requests, table.concat(parts, ", "),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
