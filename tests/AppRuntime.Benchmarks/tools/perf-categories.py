#!/usr/bin/env python3
"""Buckets `perf script` samples of the side-by-side harness by the first recognisable frame from the leaf up.

    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -e cpu-clock -F 499 -g -o b.perf.data -- \
        tests/AppRuntime.Benchmarks/bin/Release/net10.0/AppRuntime.Benchmarks sidebyside --rows b --tracing off
    perf script -i b.perf.data | python3 tests/AppRuntime.Benchmarks/tools/perf-categories.py
"""
import re
import sys

CATEGORIES = [
    ("JIT compiler (start-up, tiering)", r"libclrjit"),
    ("task id: Guid.NewGuid -> getrandom/urandom syscall", r"crng_|urandom|get_random_bytes|Guid::NewGuid|IL_STUB_PInvoke\(uint8\*,int32\)"),
    ("lease-renewal timer Change (x3 per task)", r"SystemTimeProviderTimer::Change|TimerQueueTimer|TimerQueue::"),
    ("clock reads (GetUtcNow / GetTimestamp)", r"clock_gettime|GetSystemTimeAsTicks|GetUtcNow|GetTimestamp|get_UtcNow"),
    ("Activity / trace propagation", r"System\.Diagnostics\.Activity|ActivitySource|TraceService::Start|DistributedContextPropagator|W3C|ActivityContext|ActivityTraceId|ActivitySpanId|TagsLinkedList"),
    ("trace record ring buffer (TaskTraceRecord + lock)", r"RecentTraceBuffer|TaskTraceRecord"),
    ("metrics instruments (Counter/Histogram)", r"Counter`1::|Histogram`1::|Instrument`1::|InstrumentState|MeterListener"),
    ("DI scope create/dispose + handler factory", r"ServiceProviderEngineScope|CreateAsyncScope|ServiceProvider::|<ProcessAsync>b__|DisposeAsync"),
    ("locks (System.Threading.Lock / Monitor)", r"System\.Threading\.Lock::|Monitor::|AwareLock|JIT_MonEnter|JIT_MonExit"),
    ("capacity gate (QueueCapacityGate)", r"QueueCapacityGate"),
    ("channels (ready channel read/write)", r"System\.Threading\.Channels"),
    ("queue bookkeeping (lease, in-flight list, ack)", r"InMemoryTaskQueue`1::|InMemoryQueueEntry|TaskLease|TaskEnvelope"),
    ("async machinery / thread pool", r"AsyncTaskMethodBuilder|AsyncValueTaskMethodBuilder|ThreadPool|ExecutionContext|ValueTask|IThreadPoolWorkItem|WorkerThread|LowLevelLifoSemaphore"),
    ("worker loop / publish code itself", r"WorkerPool`1|Publishing|TaskPublisher"),
    ("harness (publisher loop, latency sink, sort)", r"SideBySide|LatencySink|ArraySortHelper|IntroSort"),
    ("StackExchange.Redis and peer frameworks", r"MassTransit|Wolverine|Hangfire|StackExchange|Pipelines.Sockets"),
    ("GC / allocator (unresolved coreclr, memset, page faults)", r"libcoreclr|memset|clear_page|page_fault"),
    ("kernel scheduling / other kernel", r"kernel|\[k\]|finish_task_switch|schedule"),
]
compiled = [(name, re.compile(p)) for name, p in CATEGORIES]
counts = {}
total = 0
frames = []

def flush():
    global total
    if not frames:
        return
    total += 1
    for frame in frames:
        for name, rx in compiled:
            if rx.search(frame):
                counts[name] = counts.get(name, 0) + 1
                return
    counts["other / unresolved"] = counts.get("other / unresolved", 0) + 1

for line in sys.stdin:
    if not line.strip():
        flush()
        frames = []
    elif line[0] in " \t":
        frames.append(line.strip())
    else:
        flush()
        frames = []
flush()
print(f"{total} samples")
for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
    print(f"{100.0 * n / total:5.1f}%  {name}")
