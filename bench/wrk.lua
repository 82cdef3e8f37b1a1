-- One wrk script for every Worry Box benchmark; what to send comes after `--` on wrk's command line:
--   get                          GET the path in the URL (headers such as Cookie come from wrk -H)
--   post_text                    POST a 200-byte field `text` to the URL's path (the sealed-insert anchor)
--   post_worry TAG CSRF FILE     POST /worry as the kiosk's form does, named by a random one of the name
--                                tiles' values in FILE (one a line); each request gets its own submission_id
--   open_worry MAX               GET /worries/<a random id from 1 to MAX>
-- Every response is checked against the status its mode expects; done() prints one line,
-- "BENCH {json}", that run.py reads.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

-- About 200 bytes, as a child might type: the size the anchor seals, too.
local TEXT = "Some of the big kids keep taking my ball at lunch and they say I can't play with them. "
          .. "I feel sad at playtime and I don't want to come to school on Mondays. Can someone help me please?"
local FEELINGS = {"sad", "worried", "scared", "angry", "lonely", "confused"}
local TOPICS = {"friends", "family", "bullying", "schoolwork", "body", "online"}
local PLACES = {"classroom", "playground", "toilets", "lunch", "corridor"}
local TALK_TO = {"teacher", "trusted_adult", "not_sure"}

local function form_encode(value)
  return (value:gsub("[^%w%-%._~ ]", function(ch) return string.format("%%%02X", string.byte(ch)) end):gsub(" ", "+"))
end

local function pick(list)
  return list[math.random(#list)]
end

-- The status each mode must get back; anything else is counted in `unexpected` (wrk itself counts only >= 400).
local EXPECTED = {get = 200, post_text = 201, post_worry = 303, open_worry = 200}

function init(args)
  mode = args[1] or "get"
  expected = EXPECTED[mode]
  counter = 0
  unexpected = 0
  math.randomseed(os.time() * 100 + (thread_number or 0))
  if mode == "post_text" or mode == "post_worry" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if mode == "post_text" then
    wrk.method = "POST"
    wrk.body = "text=" .. form_encode(TEXT)
  elseif mode == "post_worry" then
    tag, csrf = args[2], args[3]
    pupils = {}
    for line in io.lines(args[4]) do
      if line ~= "" then table.insert(pupils, form_encode(line)) end
    end
    encoded_text = form_encode(TEXT)
  elseif mode == "open_worry" then
    max_id = tonumber(args[2])
  end
end

function request()
  if mode == "post_worry" then
    counter = counter + 1
    local body = "text=" .. encoded_text
      .. "&feeling=" .. pick(FEELINGS) .. "&topic=" .. pick(TOPICS) .. "&place=" .. pick(PLACES)
      .. "&talk_to=" .. pick(TALK_TO)
      .. "&pupil=" .. pick(pupils)
      .. "&submission_id=" .. string.format("bench-%s-t%d-%09d", tag, thread_number or 0, counter)
      .. "&csrf_token=" .. csrf
    return wrk.format("POST", "/worry", nil, body)
  elseif mode == "open_worry" then
    return wrk.format("GET", "/worries/" .. math.random(max_id))
  end
  return wrk.format()
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "unexpected_status": %d}, '
    .. '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "mean": %.1f, "max": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, wrong,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
