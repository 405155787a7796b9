// The restart test stops the shared redis-server; no other test may run meanwhile.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
