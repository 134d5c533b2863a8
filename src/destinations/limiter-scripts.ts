/**
 * The destination limiter's decisions, one Lua script each, so that every worker process sees one
 * state (API.md §10). Per destination six keys: `s` (a hash: circuit, openedAt, count, probe,
 * probeUntil, next), `l` (leases in flight: lease → expiry), `w` (the line: member → the time it
 * began to wait), `j` (member → the Bull job that comes back for it), `d` (member → when it is due
 * back) and `r` (rate slots reserved: member → the slot's time). Times are Redis's own clock (TIME),
 * so processes on different machines agree.
 *
 * A rate limit is a pace, not a bucket: attempts are spaced perMs / max apart (a bucket with a burst of
 * `max` lets twice the limit reach the receiver within one second). A step that finds the pace ahead
 * of it reserves the next free slot and comes back for it, so the order of reservations is the order
 * of waiting and a late step loses only its own slot. The line (`w`) orders steps that wait for a
 * concurrency slot or behind a circuit; it moves by promoting the head's job when there is room.
 */

/** Keys per destination, in this order. */
export const DESTINATION_KEYS = ['s', 'l', 'w', 'j', 'd', 'r'] as const;
/** Spacing margin: the limit's spacing stretched by 3 %, so jitter on the way stays under §10's 5 %. */
export const SPACING_MARGIN = 1.03;
/** A waiter not back this long after it was due gives up its place (a cancelled or lost step). */
export const WAITER_GRACE_MS = 5000;
/** A step waiting for a concurrency slot comes back after this at the latest; a release wakes it sooner. */
export const SLOT_WAIT_MS = 10_000;

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * acquire: may this attempt go now? KEYS[1] the version key, then 6 keys per destination.
 * ARGV: version token ('' skips the check), member, job, since ('' = now), lease, leaseTtlMs, n,
 * then per destination: name, max, perMs, concurrency, failures, cooldownMs, expireMs (0 = keep).
 * Answers {'stale'} when the caller's copy of the destinations is out of date; {'ok', report,
 * jobs to wake...}; or {'wait', why, name, wakeAt, now, since, jobs to wake...}.
 */
export const ACQUIRE_LUA = `${PRELUDE}
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'stale'} end
local member, job, lease = ARGV[2], ARGV[3], ARGV[5]
local since = tonumber(ARGV[4]) or now
local ttl, n = tonumber(ARGV[6]), tonumber(ARGV[7])
local GRACE, SLOT_WAIT, STAGGER, PROBE_RECHECK = ${WAITER_GRACE_MS}, ${SLOT_WAIT_MS}, 10, 500
local d, blocked, wakeJobs = {}, false, {}

-- the head of a line goes next when nothing but the line holds it
local function wakeHead(x)
  if x.conc > 0 and redis.call('ZCARD', x.L) >= x.conc then return end
  for _, head in ipairs(redis.call('ZRANGE', x.W, 0, 1)) do
    if head ~= member then
      local j = redis.call('HGET', x.J, head)
      if j then table.insert(wakeJobs, j); redis.call('HSET', x.D, head, now) end
      return
    end
  end
end

for i = 1, n do
  local k, a = 1 + (i - 1) * 6, 7 + (i - 1) * 7
  local x = { S = KEYS[k + 1], L = KEYS[k + 2], W = KEYS[k + 3], J = KEYS[k + 4], D = KEYS[k + 5],
    R = KEYS[k + 6], name = ARGV[a + 1], max = tonumber(ARGV[a + 2]), per = tonumber(ARGV[a + 3]),
    conc = tonumber(ARGV[a + 4]), fails = tonumber(ARGV[a + 5]), cool = tonumber(ARGV[a + 6]),
    expire = tonumber(ARGV[a + 7]), spacing = 0 }
  if x.max > 0 then x.spacing = x.per * ${SPACING_MARGIN} / x.max end
  local rank = 0
  if x.conc > 0 or x.fails > 0 then
    -- waiters that did not come back in time give up their place
    for _ = 1, 100 do
      local head = redis.call('ZRANGE', x.W, 0, 0)[1]
      if not head or head == member then break end
      if tonumber(redis.call('HGET', x.D, head) or '0') + GRACE >= now then break end
      redis.call('ZREM', x.W, head)
      redis.call('HDEL', x.J, head)
      redis.call('HDEL', x.D, head)
    end
    rank = redis.call('ZRANK', x.W, member) or redis.call('ZCOUNT', x.W, '-inf', '(' .. since)
  end
  local st = redis.call('HMGET', x.S, 'circuit', 'openedAt', 'probeUntil', 'next', 'rnext')
  x.next, x.rnext = tonumber(st[4] or '0'), tonumber(st[5] or '0')
  if x.fails > 0 and st[1] and st[1] ~= 'closed' then
    local reopen = tonumber(st[2] or '0') + x.cool
    if now < reopen then x.why = 'circuit'; x.wake = reopen + rank * STAGGER
    elseif tonumber(st[3] or '0') > now then x.why = 'circuit'; x.wake = now + PROBE_RECHECK + rank * STAGGER
    elseif rank > 0 then x.why = 'circuit'; x.wake = now + rank * STAGGER
    else x.probe = true end
  end
  if not x.why and x.conc > 0 then
    redis.call('ZREMRANGEBYSCORE', x.L, '-inf', now)
    if rank > 0 or redis.call('ZCARD', x.L) >= x.conc then x.why = 'concurrency'; x.wake = now + SLOT_WAIT end
  end
  if not x.why and rank > 0 then x.why = 'circuit'; x.wake = now + 1000 + rank * STAGGER end
  if x.why then x.line = true end
  if not x.why and x.spacing > 0 then
    -- 'next' paces what is sent (never closer than the spacing, give or take half of it); 'rnext' is
    -- the end of the reserved slots. A step back late for its slot goes only if the pace allows, else
    -- it takes a new slot at the end: late steps never bunch up at the receiver.
    local tau = x.spacing / 2
    local paced = now >= x.next - tau
    local slot = tonumber(redis.call('ZSCORE', x.R, member))
    local late = false
    if slot then
      if now < slot - tau then x.why = 'rate'; x.wake = slot
      elseif paced then x.used = true; x.take = true
      else late = true end
    end
    if not slot or late then
      local at = math.max(now, x.rnext)
      if not late and at <= now + tau and paced then x.take = true
      else
        at = math.max(at, x.next)
        x.why = 'rate'; x.wake = at; x.reserve = at
        x.rnext = at + x.spacing
      end
    end
  end
  if x.why then blocked = true end
  d[i] = x
end

if blocked then
  local why, name, wake = nil, nil, 0
  for i = 1, n do
    local x = d[i]
    if x.reserve then
      -- the slot is this step's; it leaves the line, and the next in line may take the slot after
      redis.call('ZADD', x.R, x.reserve, member)
      redis.call('HSET', x.S, 'rnext', tostring(x.rnext))
      redis.call('ZREM', x.W, member)
      redis.call('HDEL', x.D, member)
      redis.call('HSET', x.J, member, job)
      if x.conc > 0 or x.fails > 0 then wakeHead(x) end
      for _, old in ipairs(redis.call('ZRANGEBYSCORE', x.R, '-inf', now - 60000, 'LIMIT', 0, 100)) do
        redis.call('ZREM', x.R, old)
        redis.call('HDEL', x.J, old)
      end
    elseif x.line then
      redis.call('ZADD', x.W, 'NX', since, member)
      redis.call('HSET', x.J, member, job)
      redis.call('HSET', x.D, member, math.floor(x.wake))
    end
    if x.why then
      if x.expire > 0 then
        for _, key in ipairs({x.S, x.W, x.J, x.D, x.R}) do redis.call('PEXPIRE', key, x.expire) end
      end
      if why ~= 'circuit' and (x.why == 'circuit' or x.wake > wake) then why, name = x.why, x.name end
      if x.wake > wake then wake = x.wake end
    end
  end
  return {'wait', why, name, math.floor(wake), now, since, unpack(wakeJobs)}
end

local report = 0
for i = 1, n do
  local x = d[i]
  redis.call('ZREM', x.W, member)
  redis.call('HDEL', x.J, member)
  redis.call('HDEL', x.D, member)
  if x.used then redis.call('ZREM', x.R, member) end
  if x.take then
    local after = math.max(x.next, now) + x.spacing
    redis.call('HSET', x.S, 'next', tostring(after), 'rnext', tostring(math.max(x.rnext, after)))
    if x.expire > 0 then redis.call('PEXPIRE', x.S, x.expire) end
  end
  if x.conc > 0 then redis.call('ZADD', x.L, now + ttl, lease); report = 1 end
  if x.probe then
    redis.call('HSET', x.S, 'circuit', 'half-open', 'probe', lease, 'probeUntil', now + ttl)
    report = 1
  elseif x.fails > 0 and tonumber(redis.call('HGET', x.S, 'count') or '0') > 0 then report = 1 end
  if (x.conc > 0 or x.fails > 0) and not x.probe then wakeHead(x) end
end
return {'ok', report, unpack(wakeJobs)}
`;

/**
 * release: the attempt holding \`lease\` is over. KEYS: 6 per destination. ARGV: lease, outcome
 * ('ok' | 'fail' | 'none'), n, then per destination: name, concurrency, failures.
 * Answers {events ('opened:<name>' | 'closed:<name>'), jobs to wake}.
 */
export const RELEASE_LUA = `${PRELUDE}
local lease, outcome, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local events, wakeJobs = {}, {}
for i = 1, n do
  local k, a = (i - 1) * 6, 3 + (i - 1) * 3
  local S, L, W, J, D = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local name, conc, fails = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local removed = redis.call('ZREM', L, lease)
  local heads = 0
  if fails > 0 and outcome ~= 'none' then
    local st = redis.call('HMGET', S, 'circuit', 'probe')
    local circuit = st[1] or 'closed'
    local probe = circuit == 'half-open' and st[2] == lease
    if outcome == 'fail' then
      if probe then
        redis.call('HSET', S, 'circuit', 'open', 'openedAt', now)
        redis.call('HDEL', S, 'probe', 'probeUntil')
      elseif circuit == 'closed' and redis.call('HINCRBY', S, 'count', 1) >= fails then
        redis.call('HSET', S, 'circuit', 'open', 'openedAt', now, 'count', 0)
        table.insert(events, 'opened:' .. name)
      end
    elseif probe then
      redis.call('HSET', S, 'circuit', 'closed', 'count', 0)
      redis.call('HDEL', S, 'probe', 'probeUntil', 'openedAt')
      table.insert(events, 'closed:' .. name)
      heads = 50
    elseif circuit == 'closed' then
      redis.call('HSET', S, 'count', 0)
    end
  end
  if heads == 0 and conc > 0 and removed == 1 then heads = 1 end
  if heads > 0 then
    for _, h in ipairs(redis.call('ZRANGE', W, 0, heads - 1)) do
      local j = redis.call('HGET', J, h)
      if j then table.insert(wakeJobs, j); redis.call('HSET', D, h, now) end
    end
  end
end
return {events, wakeJobs}
`;

/** reset: closes the circuit. KEYS: S, W, J, D. Answers {circuit before, jobs to wake}. */
export const RESET_LUA = `${PRELUDE}
local was = redis.call('HGET', KEYS[1], 'circuit') or 'closed'
redis.call('HSET', KEYS[1], 'circuit', 'closed', 'count', 0)
redis.call('HDEL', KEYS[1], 'probe', 'probeUntil', 'openedAt')
local jobs = {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, 999)) do
  local j = redis.call('HGET', KEYS[3], h)
  if j then table.insert(jobs, j); redis.call('HSET', KEYS[4], h, now) end
end
return {was, jobs}
`;
