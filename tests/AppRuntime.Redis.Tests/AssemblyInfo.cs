// The tests of this assembly run one at a time: several start processes and time what they see (the restart test crashes a Redis server of its own).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
