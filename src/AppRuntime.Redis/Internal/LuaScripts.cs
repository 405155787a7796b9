namespace AppRuntime.Internal;

/// <summary>
/// The Lua scripts that make every state change of a Redis queue atomic. Times are passed in by the client
/// (milliseconds since the Unix epoch from the queue's <see cref="TimeProvider"/>), never read from the server,
/// so every process agrees on lease expiry and due times as long as their clocks agree, and tests can drive a fake clock.
/// Task hashes live at <c>ARGV[1] .. id</c>; every key shares the queue's hash tag, so they map to one cluster slot.
/// </summary>
/// <remarks>
/// Task hash fields: p payload, ty task type, a attempt (deliveries), e enqueued-at ticks, nb not-before ticks ('' none),
/// h headers (JSON object, '' none), err last error ('' none), tk token of the current lease (absent when not leased),
/// dla dead-lettered-at ticks, pv the payload's first bytes (only when the payload is longer; what a dead-letter listing reads).
/// </remarks>
internal static class LuaScripts
{
    // Moves due delayed tasks to the back of the ready list, reclaims expired leases (front of the ready list, or the
    // dead letters when the expired delivery was the last allowed one). Returns how many tasks became ready.
    // The "full" mark (RedisQueueKeys.Full): <root>:full, derived in one place from the task prefix <root>:t: that every script
    // using it gets as ARGV[1]. A publish that finds the queue full sets it (with a life); while it exists a free announces its room.
    private const string FullMark = """
        local function fullkey(tprefix) return string.sub(tprefix, 1, -4) .. ':full' end
        local function markfull(tprefix, lifeMs) redis.call('SET', fullkey(tprefix), '1', 'PX', lifeMs) end
        local function announce(channel, tprefix, room, wasFull)
          if room > 0 and (wasFull or redis.call('EXISTS', fullkey(tprefix)) == 1) then redis.call('PUBLISH', channel, 'f' .. room) end
        end

        """;

    private const string Maintenance = FullMark + """
        local function maintain(ready, delayed, leases, dead, tprefix, now, maxAttempts, nowTicks)
          local moved = 0
          local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 500)
          if #due > 0 then
            redis.call('ZREM', delayed, unpack(due))
            for i = 1, #due do redis.call('LPUSH', ready, due[i]) end
            moved = moved + #due
          end
          local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 500)
          for i = 1, #expired do
            local id = expired[i]
            local tk = tprefix .. id
            redis.call('ZREM', leases, id)
            -- A record that is not a hash, or whose attempt count is not a number, goes back to the ready list: the consume that
            -- takes it dead-letters it with the reason (a command on it here would fail the script and block every consume).
            local a = nil
            if redis.call('TYPE', tk).ok == 'hash' then
              redis.call('HDEL', tk, 'tk')
              a = tonumber(redis.call('HGET', tk, 'a') or '0')
            end
            if a ~= nil and a >= maxAttempts then
              redis.call('HSET', tk, 'err', 'lease expired after ' .. a .. ' attempts', 'dla', nowTicks)
              redis.call('ZADD', dead, redis.call('INCR', dead .. ':seq'), id)
            else
              redis.call('RPUSH', ready, id)
              moved = moved + 1
            end
          end
          return moved
        end
        -- Dead letters are scored by a sequence (the <dead>:seq counter), so they list in the order they died. A queue that was
        -- full, or that refused a publish lately (the <root>:full marker, <root> being the task prefix without ':t:'), announces
        -- the room it has now ('f' .. room): that many parked publishers are woken. The marker makes every free announced while
        -- publishers may be parked, not only the first one after the queue was full.
        local function freed(ready, delayed, leases, capacity, channel, tprefix)
          local n = redis.call('LLEN', ready) + redis.call('ZCARD', delayed) + redis.call('ZCARD', leases)
          announce(channel, tprefix, capacity - n, n + 1 >= capacity)
        end

        """;

    /// <summary>
    /// KEYS: ready, delayed, leases, stats, waiting, consumers, once (the id's deduplication key). ARGV: tprefix, id, capacity,
    /// dueMs, nowMs, channel, payload, type, attempt, enqueuedTicks, notBeforeTicks, headers, lastError, instance, handoffToken
    /// ('' none), leaseUntilMs, consumerBeat ('' skips it), onceWindowMs ('0': no deduplication), preview (the payload's first bytes
    /// when it is longer than a listing reads, '' otherwise). Returns 1 published, 2 published
    /// and leased to the publishing instance (hand-off), 0 full, -1 the id is already in the queue or (with a window) was
    /// published within it. The deduplication key holds the end of the window on the publisher's clock (as every due time and
    /// lease here does) and expires with it; it is set only when the task is published, in the same script, so a full queue or
    /// a failed call never claims the id. A fenced publish (an exclusive source's) also passes KEYS[8], the source's lease, and
    /// ARGV[20], <c>holder|token</c>: unless the lease still names that holder and token, nothing is published and the result is -3.
    /// ARGV[21]: how long (ms) a "full" answer marks the queue as refusing publishes (<c>&lt;root&gt;:full</c>), so that every free
    /// while publishers may be parked is announced.
    /// A hand-off happens when the publishing instance has a parked consumer (it passes a token) and the ready list is
    /// empty (so no older task is overtaken): the task goes straight to <c>leases</c> with attempt + 1, as a consume would
    /// leave it. Otherwise a ready task is announced ('r') only when a queue instance other than the publishing one may be
    /// waiting (it left an entry in <c>waiting</c> when it found the ready list empty); announcing clears the entries. The
    /// publishing instance wakes its own consumers without Redis.
    /// </summary>
    public const string Publish = FullMark + """
        if ARGV[20] and ARGV[20] ~= '' then
          local held = redis.call('GET', KEYS[8])
          if not held or string.sub(held, 1, #ARGV[20] + 1) ~= ARGV[20] .. '|' then return -3 end
        end
        local tk = ARGV[1] .. ARGV[2]
        if redis.call('EXISTS', tk) == 1 then return -1 end
        local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
        if n >= tonumber(ARGV[3]) then
          markfull(ARGV[1], ARGV[21])
          return 0
        end
        if ARGV[18] ~= '0' then
          local seen = redis.call('GET', KEYS[7])
          if seen and (tonumber(seen) or 0) > tonumber(ARGV[5]) then return -1 end
          redis.call('SET', KEYS[7], tonumber(ARGV[5]) + tonumber(ARGV[18]), 'PX', ARGV[18])
        end
        redis.call('HSET', tk, 'p', ARGV[7], 'ty', ARGV[8], 'a', ARGV[9], 'e', ARGV[10], 'nb', ARGV[11], 'h', ARGV[12], 'err', ARGV[13])
        if ARGV[19] and ARGV[19] ~= '' then redis.call('HSET', tk, 'pv', ARGV[19]) end
        redis.call('HINCRBY', KEYS[4], 'published', 1)
        if tonumber(ARGV[4]) > tonumber(ARGV[5]) then
          redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
        elseif ARGV[15] ~= '' and redis.call('LLEN', KEYS[1]) == 0 then
          redis.call('HINCRBY', tk, 'a', 1)
          redis.call('HSET', tk, 'tk', ARGV[15])
          redis.call('ZADD', KEYS[3], ARGV[16], ARGV[2])
          if ARGV[17] ~= '' then redis.call('ZADD', KEYS[6], ARGV[5], ARGV[17]) end
          return 2
        else
          redis.call('LPUSH', KEYS[1], ARGV[2])
          local w = redis.call('HLEN', KEYS[5])
          if w > 1 or (w == 1 and redis.call('HEXISTS', KEYS[5], ARGV[14]) == 0) then
            redis.call('DEL', KEYS[5])
            redis.call('PUBLISH', ARGV[6], 'r')
          end
        end
        return 1
        """;

    /// <summary>
    /// Publishes a batch (several callers' publishes coalesced, or one <c>PublishManyAsync</c> chunk) in one call, with the checks
    /// of <see cref="Publish"/> for each task, in order. KEYS: ready, delayed, leases, stats, waiting, consumers, dead. ARGV:
    /// tprefix, capacity, nowMs, channel, instance, oncePrefix (the deduplication keys are <c>oncePrefix .. id</c>, in the queue's
    /// hash slot), fullMarkMs (the "full" marker's life, as ARGV[21] of <see cref="Publish"/>), handOff (how many tasks the
    /// publishing instance can take at once: its parked consumers and its prefetch room; '0' none), tokenBase, leaseUntilMs,
    /// consumerBeat ('' skips it), maxAttempts, nowTicks, then 11 per task (from ARGV[14]): id, dueMs, payload, type, attempt,
    /// enqueuedTicks, notBeforeTicks, headers, lastError, onceWindowMs ('0': no deduplication), preview. Returns one code per task:
    /// 1 published, 2 published and leased to the publishing instance (the j-th such task has the token <c>tokenBase .. j</c>),
    /// 0 full, -1 duplicate. Once one task finds the queue full, every later task of the batch gets 0 too (unless it is a
    /// duplicate), so what was published is always a prefix of the batch's new tasks and the caller retries the rest in order.
    /// Hand-off (a batch's version of <see cref="Publish"/>'s): only when the ready list is empty after the maintenance (expired
    /// leases and due delayed tasks go first, and a publish that hands off runs that maintenance because it may be the only script
    /// a busy instance runs), and only to a prefix of the batch's ready tasks, so no task overtakes an older one. A ready task is
    /// announced once per batch, under the rule of <see cref="Publish"/>.
    /// </summary>
    public const string PublishMany = Maintenance + """
        local cap = tonumber(ARGV[2])
        local now = tonumber(ARGV[3])
        local handoff = tonumber(ARGV[8])
        if handoff > 0 then
          local moved = maintain(KEYS[1], KEYS[2], KEYS[3], KEYS[7], ARGV[1], now, tonumber(ARGV[12]), ARGV[13])
          if moved > 0 then redis.call('PUBLISH', ARGV[4], 'r') end
          if redis.call('LLEN', KEYS[1]) > 0 then handoff = 0 end
        end
        local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
        local out = {}
        local published = 0
        local readied = 0
        local handed = 0
        local full = false
        for i = 14, #ARGV, 11 do
          local id = ARGV[i]
          local tk = ARGV[1] .. id
          local r = 1
          if redis.call('EXISTS', tk) == 1 then
            r = -1
          elseif full or n >= cap then
            if not full then markfull(ARGV[1], ARGV[7]) end
            full = true
            r = 0
          elseif ARGV[i + 9] ~= '0' then
            local once = ARGV[6] .. id
            local seen = redis.call('GET', once)
            if seen and (tonumber(seen) or 0) > now then
              r = -1
            else
              redis.call('SET', once, now + tonumber(ARGV[i + 9]), 'PX', ARGV[i + 9])
            end
          end
          if r == 1 then
            -- One write of the record: a handed-off task also gets its delivery counted and its lease token, as a consume gives.
            local f = {'p', ARGV[i + 2], 'ty', ARGV[i + 3], 'a', ARGV[i + 4], 'e', ARGV[i + 5], 'nb', ARGV[i + 6], 'h', ARGV[i + 7], 'err', ARGV[i + 8]}
            if ARGV[i + 10] ~= '' then f[#f + 1] = 'pv'; f[#f + 1] = ARGV[i + 10] end
            if tonumber(ARGV[i + 1]) > now then
              redis.call('ZADD', KEYS[2], ARGV[i + 1], id)
            elseif handed < handoff then
              handed = handed + 1
              f[6] = tonumber(ARGV[i + 4]) + 1
              f[#f + 1] = 'tk'; f[#f + 1] = ARGV[9] .. handed
              redis.call('ZADD', KEYS[3], ARGV[10], id)
              r = 2
            else
              redis.call('LPUSH', KEYS[1], id)
              readied = readied + 1
              handoff = 0   -- a later task handed off would overtake this one
            end
            redis.call('HSET', tk, unpack(f))
            n = n + 1
            published = published + 1
          end
          out[#out + 1] = r
        end
        if published > 0 then redis.call('HINCRBY', KEYS[4], 'published', published) end
        if handed > 0 and ARGV[11] ~= '' then redis.call('ZADD', KEYS[6], now, ARGV[11]) end
        if readied > 0 then
          local w = redis.call('HLEN', KEYS[5])
          if w > 1 or (w == 1 and redis.call('HEXISTS', KEYS[5], ARGV[5]) == 0) then
            redis.call('DEL', KEYS[5])
            redis.call('PUBLISH', ARGV[4], 'r')
          end
        end
        return out
        """;

    /// <summary>
    /// KEYS: ready, delayed, leases, dead, consumers, waiting. ARGV: tprefix, nowMs, leaseUntilMs, tokenBase, consumerId (''
    /// skips the heartbeat), maxAttempts, nowTicks, channel, count, instance. Leases up to <c>count</c> ready tasks in one
    /// call; the i-th gets the token <c>tokenBase .. i</c>. When it leaves the ready list empty, it records the instance in
    /// <c>waiting</c> (a write only when the entry is new), so the next publish from another instance announces itself.
    /// Every popped task record is checked before anything is written to it: a key that is not a hash, or an attempt count,
    /// enqueued-at or not-before that is not a number, is dead-lettered in the same script with the reason (the record is made a
    /// readable hash: the bad values are quoted in the reason, a non-hash key's value is kept as the payload), so a corrupt record
    /// can neither fail the script after its id was popped (losing the task) nor block the queue. Returns
    /// {n, readyLeft, nextDueMs|false, nextLeaseExpiryMs|false} followed by n groups {id, attempt, type, enqueuedTicks,
    /// notBeforeTicks, headers, lastError, payload}, then a pair {id, reason} for every task dead-lettered as unreadable.
    /// </summary>
    public const string Consume = Maintenance + """
        local function int(v, max)
          if not v or not string.match(v, '^%d+$') or #v > 19 then return nil end
          local n = tonumber(v)
          if n > max then return nil end
          return n
        end
        local function quote(v)
          if #v > 64 then v = string.sub(v, 1, 64) .. '...' end
          return "'" .. v .. "'"
        end
        -- nil when the record can be leased; else why not, after making it a hash that lists as a dead letter. f: the record's
        -- fields a, e, nb as read (when it is a hash).
        local function unreadable(tk, t, f, nowTicks)
          if t ~= 'hash' then
            local kept
            if t == 'string' then kept = redis.call('GET', tk) else kept = redis.call('DUMP', tk) end
            redis.call('DEL', tk)
            redis.call('HSET', tk, 'p', kept, 'a', '0', 'e', nowTicks, 'ty', '', 'nb', '', 'h', '')
            return 'the task record is a Redis ' .. t .. ', not a hash (its ' .. (t == 'string' and 'value' or 'DUMP') .. ' is kept as the payload)'
          end
          local problems = {}
          if f[1] and not int(f[1], 1000000000) then
            problems[#problems + 1] = 'attempt count ' .. quote(f[1]) .. ' is not a whole number from 0 to 1000000000'
            redis.call('HSET', tk, 'a', '0')
          end
          if not int(f[2], 3155378975999999999) then
            problems[#problems + 1] = f[2] and ('enqueued-at ' .. quote(f[2]) .. ' is not a time (UTC ticks)') or 'enqueued-at is missing'
            redis.call('HSET', tk, 'e', nowTicks)
          end
          if f[3] and f[3] ~= '' and not int(f[3], 3155378975999999999) then
            problems[#problems + 1] = 'not-before ' .. quote(f[3]) .. ' is not a time (UTC ticks)'
            redis.call('HSET', tk, 'nb', '')
          end
          if #problems == 0 then return nil end
          return table.concat(problems, '; ')
        end
        local now = tonumber(ARGV[2])
        if ARGV[5] ~= '' then redis.call('ZADD', KEYS[5], now, ARGV[5]) end
        local moved = maintain(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], now, tonumber(ARGV[6]), ARGV[7])
        local want = tonumber(ARGV[9])
        local out = {0, 0, false, false}
        local bad = {}
        local n = 0
        while n < want do
          local id = redis.call('RPOP', KEYS[1])
          if not id then break end
          local tk = ARGV[1] .. id
          -- One read of every field the delivery needs; the key's type is asked only when that read fails (not a hash) or finds
          -- no enqueued-at (no record at all, or a hash without it).
          local f = redis.pcall('HMGET', tk, 'a', 'e', 'nb', 'ty', 'h', 'err', 'p')
          local t = 'hash'
          if f.err or not f[2] then t = redis.call('TYPE', tk).ok end
          if t ~= 'none' then
            local why = unreadable(tk, t, f, ARGV[7])
            if why then
              redis.call('HSET', tk, 'err', 'Unreadable task record: ' .. why, 'dla', ARGV[7])
              redis.call('HDEL', tk, 'tk')
              redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[4] .. ':seq'), id)
              bad[#bad + 1] = id
              bad[#bad + 1] = why
            else
              n = n + 1
              local a = (tonumber(f[1]) or 0) + 1
              redis.call('HSET', tk, 'a', a, 'tk', ARGV[4] .. n)
              redis.call('ZADD', KEYS[3], ARGV[3], id)
              local o = #out
              out[o + 1] = id
              out[o + 2] = a
              out[o + 3] = f[4]
              out[o + 4] = f[2]
              out[o + 5] = f[3]
              out[o + 6] = f[5]
              out[o + 7] = f[6]
              out[o + 8] = f[7]
            end
          end
        end
        for j = 1, #bad do out[#out + 1] = bad[j] end
        local left = redis.call('LLEN', KEYS[1])
        if left == 0 then redis.call('HSETNX', KEYS[6], ARGV[10], '1') end
        -- Tasks this script made ready and left in the list: tell the other processes (this one learns it from readyLeft).
        if moved > 0 and left > 0 then redis.call('PUBLISH', ARGV[8], 'r') end
        local d = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
        local l = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
        out[1] = n
        out[2] = left
        out[3] = d[2] or false
        out[4] = l[2] or false
        return out
        """;

    /// <summary>
    /// KEYS: ready, delayed, leases, stats. ARGV: tprefix, id, token, channel, capacity. Returns 1 or 0 (lease lost; also for a
    /// record that is not a hash, as <see cref="AckMany"/> answers).
    /// </summary>
    public const string Ack = Maintenance + """
        local tk = ARGV[1] .. ARGV[2]
        if redis.pcall('HGET', tk, 'tk') ~= ARGV[3] then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[2])
        redis.call('DEL', tk)
        redis.call('HINCRBY', KEYS[4], 'acked', 1)
        freed(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[5]), ARGV[4], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: ready, delayed, leases. ARGV: capacity. Returns the free room (capacity minus ready, delayed and leased; may be negative).</summary>
    public const string Room = """
        return tonumber(ARGV[1]) - (redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]))
        """;

    /// <summary>
    /// Acks a batch (several workers' acks coalesced) in one call. KEYS: ready, delayed, leases, stats. ARGV: tprefix, channel,
    /// capacity, then id, token per lease. Returns 1 or 0 (lease lost) per lease, in order. A record that is not a hash answers 0
    /// for its own lease only (<c>redis.pcall</c>): it cannot fail the other acks of the batch.
    /// </summary>
    public const string AckMany = FullMark + """
        local out = {}
        local acked = 0
        for i = 4, #ARGV, 2 do
          local tk = ARGV[1] .. ARGV[i]
          if redis.pcall('HGET', tk, 'tk') == ARGV[i + 1] then
            redis.call('ZREM', KEYS[3], ARGV[i])
            redis.call('DEL', tk)
            acked = acked + 1
            out[#out + 1] = 1
          else
            out[#out + 1] = 0
          end
        end
        if acked > 0 then
          redis.call('HINCRBY', KEYS[4], 'acked', acked)
          local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
          local cap = tonumber(ARGV[3])
          announce(ARGV[2], ARGV[1], cap - n, n + acked >= cap)
        end
        return out
        """;

    /// <summary>
    /// Renews a batch of leases (the renewals of one tick coalesced) in one call. KEYS: leases, consumers. ARGV: tprefix,
    /// leaseUntilMs, nowMs, consumerId, then id, token per lease. Returns 1 or 0 (lease lost) per lease, in order.
    /// </summary>
    public const string RenewMany = """
        local out = {}
        local renewed = false
        for i = 5, #ARGV, 2 do
          if redis.pcall('HGET', ARGV[1] .. ARGV[i], 'tk') == ARGV[i + 1] then
            redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
            renewed = true
            out[#out + 1] = 1
          else
            out[#out + 1] = 0
          end
        end
        if renewed then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end
        return out
        """;

    /// <summary>
    /// KEYS: ready, delayed, leases, dead, stats. ARGV: tprefix, id, token, nowMs, dueMs, notBeforeTicks, error ('' none),
    /// maxAttempts, nowTicks, channel, capacity. Returns 0 lease lost, 1 requeued, 2 dead-lettered.
    /// </summary>
    public const string Nack = Maintenance + """
        local tk = ARGV[1] .. ARGV[2]
        if redis.call('HGET', tk, 'tk') ~= ARGV[3] then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[2])
        redis.call('HDEL', tk, 'tk')
        redis.call('HINCRBY', KEYS[5], 'nacked', 1)
        if ARGV[7] ~= '' then redis.call('HSET', tk, 'err', ARGV[7]) end
        local a = tonumber(redis.call('HGET', tk, 'a') or '0')
        if a >= tonumber(ARGV[8]) then
          if ARGV[7] == '' then redis.call('HSET', tk, 'err', 'failed after ' .. a .. ' attempts') end
          redis.call('HSET', tk, 'dla', ARGV[9])
          redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[4] .. ':seq'), ARGV[2])
          freed(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[11]), ARGV[10], ARGV[1])
          return 2
        end
        if tonumber(ARGV[5]) > tonumber(ARGV[4]) then
          redis.call('HSET', tk, 'nb', ARGV[6])
          redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
        else
          redis.call('LPUSH', KEYS[1], ARGV[2])
          redis.call('PUBLISH', ARGV[10], 'r')
        end
        return 1
        """;

    /// <summary>KEYS: ready, delayed, leases, dead. ARGV: tprefix, id, token, nowMs, reason, nowTicks, channel, capacity. Returns 1 or 0.</summary>
    public const string DeadLetter = Maintenance + """
        local tk = ARGV[1] .. ARGV[2]
        if redis.call('HGET', tk, 'tk') ~= ARGV[3] then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[2])
        redis.call('HDEL', tk, 'tk')
        redis.call('HSET', tk, 'err', ARGV[5], 'dla', ARGV[6])
        redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[4] .. ':seq'), ARGV[2])
        freed(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[8]), ARGV[7], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: ready, leases. ARGV: tprefix, id, token, channel. Gives the task back to the front, uncounting the delivery.</summary>
    public const string Release = """
        local tk = ARGV[1] .. ARGV[2]
        if redis.call('HGET', tk, 'tk') ~= ARGV[3] then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[2])
        redis.call('HDEL', tk, 'tk')
        local a = redis.call('HINCRBY', tk, 'a', -1)
        if a < 0 then redis.call('HSET', tk, 'a', 0) end
        redis.call('RPUSH', KEYS[1], ARGV[2])
        redis.call('PUBLISH', ARGV[4], 'r')
        return 1
        """;

    /// <summary>KEYS: leases, consumers. ARGV: tprefix, id, token, leaseUntilMs, nowMs, consumerId. Returns 1 or 0 (as <see cref="RenewMany"/>).</summary>
    public const string Renew = """
        local tk = ARGV[1] .. ARGV[2]
        if redis.pcall('HGET', tk, 'tk') ~= ARGV[3] then return 0 end
        redis.call('ZADD', KEYS[1], 'XX', ARGV[4], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
        return 1
        """;

    /// <summary>
    /// KEYS: ready, delayed, leases, dead, stats, consumers. ARGV: tprefix, nowMs, maxAttempts, nowTicks, consumerCutoffMs, channel.
    /// Returns {ready, delayed, leased, dead, published, acked, nacked, consumers}.
    /// </summary>
    public const string Stats = Maintenance + """
        local now = tonumber(ARGV[2])
        local moved = maintain(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], now, tonumber(ARGV[3]), ARGV[4])
        if moved > 0 then redis.call('PUBLISH', ARGV[6], 'r') end
        redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. ARGV[5])
        local c = redis.call('HMGET', KEYS[5], 'published', 'acked', 'nacked')
        return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
          tonumber(c[1] or '0'), tonumber(c[2] or '0'), tonumber(c[3] or '0'), redis.call('ZCARD', KEYS[6])}
        """;

    /// <summary>
    /// KEYS: dead. ARGV: tprefix, max, previewBytes. Returns flat groups {id, keyType, type, attempt, reason, enqueuedTicks,
    /// deadLetteredTicks, preview, payloadBytes}. Never reads a payload longer than previewBytes: the preview is then the 'pv' field
    /// written at publish (absent for tasks published before it existed: no preview rather than a whole-payload read). For a key
    /// that is not a hash (or is gone) only the id and its type, the rest false, so that one bad record cannot fail the listing
    /// (the client skips and reports it).
    /// </summary>
    public const string ListDead = """
        local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
        local limit = tonumber(ARGV[3])
        local out = {}
        for i = 1, #ids do
          local tk = ARGV[1] .. ids[i]
          local t = redis.call('TYPE', tk).ok
          table.insert(out, ids[i])
          table.insert(out, t)
          if t == 'hash' then
            local f = redis.call('HMGET', tk, 'ty', 'a', 'err', 'e', 'dla', 'pv')
            local size = redis.call('HSTRLEN', tk, 'p')
            if size <= limit then f[6] = redis.call('HGET', tk, 'p') end
            for j = 1, 6 do table.insert(out, f[j]) end
            table.insert(out, size)
          else
            for j = 1, 7 do table.insert(out, false) end
          end
        end
        return out
        """;

    /// <summary>
    /// KEYS: dead. ARGV: tprefix, id. Returns nil when the id is not a dead letter, else {type, attempt, reason, enqueuedTicks,
    /// deadLetteredTicks, payload}.
    /// </summary>
    public const string GetDead = """
        if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return nil end
        return redis.call('HMGET', ARGV[1] .. ARGV[2], 'ty', 'a', 'err', 'e', 'dla', 'p')
        """;

    /// <summary>
    /// KEYS: dead, ready. ARGV: tprefix, channel, ids... (none: the oldest 1000). Moves dead letters to the back of the
    /// ready list with a fresh attempt count. Returns how many moved.
    /// </summary>
    public const string RetryDead = """
        local ids
        if #ARGV <= 2 then ids = redis.call('ZRANGE', KEYS[1], 0, 999) else ids = {unpack(ARGV, 3)} end
        local n = 0
        for i = 1, #ids do
          if redis.call('ZREM', KEYS[1], ids[i]) == 1 then
            local tk = ARGV[1] .. ids[i]
            redis.call('HSET', tk, 'a', 0)
            redis.call('HDEL', tk, 'dla')
            redis.call('LPUSH', KEYS[2], ids[i])
            n = n + 1
          end
        end
        if n > 0 then redis.call('PUBLISH', ARGV[2], 'r') end
        return n
        """;

    /// <summary>KEYS: dead. ARGV: tprefix, ids... (none: the oldest 1000). Deletes dead letters. Returns how many.</summary>
    public const string PurgeDead = """
        local ids
        if #ARGV <= 1 then ids = redis.call('ZRANGE', KEYS[1], 0, 999) else ids = {unpack(ARGV, 2)} end
        local n = 0
        for i = 1, #ids do
          if redis.call('ZREM', KEYS[1], ids[i]) == 1 then
            redis.call('DEL', ARGV[1] .. ids[i])
            n = n + 1
          end
        end
        return n
        """;

    /// <summary>KEYS: dead. ARGV: tprefix, then task ids. Returns, for each id in order, what <see cref="IsPending"/> returns for it.</summary>
    public const string ArePending = """
        local out = {}
        for i = 2, #ARGV do
          local id = ARGV[i]
          if redis.call('EXISTS', ARGV[1] .. id) == 1 and not redis.call('ZSCORE', KEYS[1], id) then out[i - 1] = 1 else out[i - 1] = 0 end
        end
        return out
        """;

    /// <summary>
    /// KEYS: dead. ARGV: tprefix, id. Returns 1 while the task is pending (its hash exists and it is not a dead letter: ready,
    /// delayed or leased), else 0 (acked, dead-lettered, purged or never published).
    /// </summary>
    public const string IsPending = """
        if redis.call('EXISTS', ARGV[1] .. ARGV[2]) == 0 then return 0 end
        if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
        return 1
        """;

    /// <summary>
    /// KEYS: checkpoints. ARGV: field, expected ('' with ARGV[3] = '0': expect the field absent), value, expectPresent ('1' or '0').
    /// Sets the field when it holds what is expected. Returns 1 when set, 0 when it held something else.
    /// </summary>
    public const string SetCheckpoint = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if ARGV[4] == '1' then
          if current ~= ARGV[2] then return 0 end
        elseif current then
          return 0
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: lease (a source's), sequence (the fencing token counter). ARGV: holder, nowMs, durationMs. The lease is a string
    /// <c>holder|token|expiresMs</c> that also expires in Redis after the duration. Taken when absent or run out (a new token from the
    /// counter), renewed when the caller holds it already (same token). Returns {1, token, expiresMs} when the caller holds it,
    /// {0, holder, token, expiresMs} when another does.
    /// </summary>
    public const string AcquireLease = """
        local now = tonumber(ARGV[2])
        local v = redis.call('GET', KEYS[1])
        if v then
          local h, t, e = string.match(v, '^(.*)|(%d+)|(%d+)$')
          if h and tonumber(e) > now then
            if h ~= ARGV[1] then return {0, h, t, e} end
            local untilMs = now + tonumber(ARGV[3])
            redis.call('SET', KEYS[1], h .. '|' .. t .. '|' .. untilMs, 'PX', ARGV[3])
            return {1, t, tostring(untilMs)}
          end
        end
        local t = redis.call('INCR', KEYS[2])
        local untilMs = now + tonumber(ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. t .. '|' .. untilMs, 'PX', ARGV[3])
        return {1, tostring(t), tostring(untilMs)}
        """;

    /// <summary>
    /// KEYS: lease. ARGV: holder|token, nowMs, durationMs. Extends the lease when it still names that holder and token. Returns the
    /// new expiry (ms), or 0 when the lease is gone or held by another.
    /// </summary>
    public const string RenewLease = """
        local v = redis.call('GET', KEYS[1])
        if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
        local untilMs = tonumber(ARGV[2]) + tonumber(ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. untilMs, 'PX', ARGV[3])
        return untilMs
        """;

    /// <summary>KEYS: lease. ARGV: holder|token. Deletes the lease when it still names that holder and token. Returns 1 when deleted.</summary>
    public const string ReleaseLease = """
        local v = redis.call('GET', KEYS[1])
        if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    /// <summary>
    /// KEYS: leases. ARGV: tprefix. Counts the leases by owner: the part of each leased task's token before the first ':'. Returns
    /// {owner, count, owner, count, ...}.
    /// </summary>
    public const string CountLeaseOwners = """
        local counts = {}
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        for i = 1, #ids do
          local tk = ARGV[1] .. ids[i]
          local owner = '?'
          if redis.call('TYPE', tk).ok == 'hash' then
            local token = redis.call('HGET', tk, 'tk')
            if token then owner = string.match(token, '^([^:]*):') or '?' end
          end
          counts[owner] = (counts[owner] or 0) + 1
        end
        local out = {}
        for owner, n in pairs(counts) do
          out[#out + 1] = owner
          out[#out + 1] = n
        end
        return out
        """;

    /// <summary>
    /// KEYS: leases. ARGV: tprefix, owner. Makes every lease whose token starts with <c>owner:</c> run out now (score 0), so the
    /// next consume's maintenance delivers the task again (counting the expired delivery as an attempt). Returns how many.
    /// </summary>
    public const string ExpireOwnerLeases = """
        local n = 0
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        local prefix = ARGV[2] .. ':'
        for i = 1, #ids do
          local tk = ARGV[1] .. ids[i]
          if redis.call('TYPE', tk).ok == 'hash' then
            local token = redis.call('HGET', tk, 'tk')
            if token and string.sub(token, 1, #prefix) == prefix then
              redis.call('ZADD', KEYS[1], 0, ids[i])
              n = n + 1
            end
          end
        end
        return n
        """;
}
