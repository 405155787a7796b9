// Every runtime in a process writes to the one "AppRuntime" ActivitySource and Meter, so tests that count spans or
// measurements must not share the process with another test's runtime at the same time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
