using System.Text;
using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Listing dead letters on Redis reads a bounded prefix of each payload, never the payload: big dead letters cost the listing
/// (and the shared connection) almost nothing, and the whole payload comes from the single read.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DeadLetterPreviewIntegrationTests : RedisQueueFixture
{
    private const int PayloadChars = 8 * 1024 * 1024;

    [Fact]
    public async Task Listing_big_dead_letters_transfers_previews_only_and_the_single_read_returns_the_whole_payload()
    {
        var queue = NewQueue(new QueueDefinition("big", WorkItems.TaskType) { MaxAttempts = 1 });
        const int count = 6; // 48 MiB of payloads
        for (var i = 0; i < count; i++)
        {
            await queue.PublishAsync(new TaskEnvelope<WorkItem>($"big-{i}", WorkItems.TaskType, new WorkItem(i, new string((char)('a' + i), PayloadChars)), Time.GetUtcNow()));
            var lease = await ConsumeWithin(queue);
            Assert.True(await queue.DeadLetterAsync(lease, "too big to handle"));
        }

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var listing = await queue.GetDeadLettersAsync(max: 100);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        Assert.Equal(count, listing.Count);
        foreach (var dead in listing)
        {
            Assert.True(dead.PayloadTruncated);
            Assert.Equal(DeadLetter.PreviewLength, dead.Payload!.Length);
            Assert.StartsWith("{\"Number\":", dead.Payload, StringComparison.Ordinal);
            Assert.True(dead.PayloadSize > PayloadChars, $"the size of the whole payload is reported: {dead.PayloadSize}");
        }
        // One payload is 8 MiB; six previews and their bookkeeping stay far below a single one.
        Assert.True(allocated < 2 * 1024 * 1024, $"the listing allocated {allocated:N0} bytes");

        var whole = await queue.GetDeadLetterAsync("big-3");
        Assert.NotNull(whole);
        Assert.False(whole.PayloadTruncated);
        Assert.Contains(new string('d', PayloadChars), whole.Payload!, StringComparison.Ordinal);
        Assert.Equal(whole.Payload!.Length, whole.PayloadSize);
    }

    [Fact]
    public async Task The_listing_reads_the_stored_preview_instead_of_the_payload()
    {
        var queue = (RedisTaskQueue<WorkItem>)NewQueue(new QueueDefinition("peek", WorkItems.TaskType) { MaxAttempts = 1 });
        await queue.PublishAsync(new TaskEnvelope<WorkItem>("long", WorkItems.TaskType, new WorkItem(1, new string('x', 20_000)), Time.GetUtcNow()));
        Assert.True(await queue.DeadLetterAsync(await ConsumeWithin(queue), "poison"));
        // Mark the stored preview: when the listing shows the mark, it did not read the payload field.
        await Db.HashSetAsync(queue.Keys.TaskPrefix + "long", "pv", "{\"marked preview\"");

        var dead = Assert.Single(await queue.GetDeadLettersAsync());

        Assert.Equal("{\"marked preview\"", dead.Payload);
        Assert.True(dead.PayloadTruncated);
        Assert.StartsWith("{\"Number\":1,\"Text\":\"xxx", (await queue.GetDeadLetterAsync("long"))!.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_long_dead_letter_from_before_previews_were_stored_lists_without_a_preview()
    {
        var queue = (RedisTaskQueue<WorkItem>)NewQueue(new QueueDefinition("legacy", WorkItems.TaskType) { MaxAttempts = 1 });
        await queue.PublishAsync(new TaskEnvelope<WorkItem>("old", WorkItems.TaskType, new WorkItem(1, new string('x', 20_000)), Time.GetUtcNow()));
        Assert.True(await queue.DeadLetterAsync(await ConsumeWithin(queue), "poison"));
        await Db.HashDeleteAsync(queue.Keys.TaskPrefix + "old", "pv");

        var dead = Assert.Single(await queue.GetDeadLettersAsync());

        Assert.Null(dead.Payload);
        Assert.True(dead.PayloadTruncated);
        Assert.True(dead.PayloadSize > 20_000);
    }

    [Fact]
    public async Task Short_payloads_store_no_preview_field()
    {
        var queue = (RedisTaskQueue<WorkItem>)NewQueue();
        await queue.PublishAsync(Envelope(1));

        Assert.False(await Db.HashExistsAsync(queue.Keys.TaskPrefix + "task-1", "pv"));
    }

    [Theory]
    [InlineData("plain ascii", 100, "plain ascii", true)]
    [InlineData("plain ascii", 11, "plain ascii", false)]
    public void A_preview_is_the_decoded_prefix(string text, long size, string expected, bool truncated)
    {
        var (preview, cut) = RedisTaskQueue<WorkItem>.RenderPreview(Encoding.UTF8.GetBytes(text), size);

        Assert.Equal(expected, preview);
        Assert.Equal(truncated, cut);
    }

    [Fact]
    public void A_preview_cut_inside_a_multi_byte_character_leaves_the_character_out()
    {
        var bytes = Encoding.UTF8.GetBytes("Zoë 🚀");
        var prefix = bytes[..^2]; // the rocket's 4 bytes cut after 2

        var (preview, cut) = RedisTaskQueue<WorkItem>.RenderPreview(prefix, bytes.Length);

        Assert.Equal("Zoë ", preview);
        Assert.True(cut);
    }

    [Fact]
    public void A_binary_preview_is_shown_as_base64()
    {
        var (preview, _) = RedisTaskQueue<WorkItem>.RenderPreview([0xff, 0xfe, 0x00, 0x41], 4);

        Assert.Equal("base64:" + Convert.ToBase64String(new byte[] { 0xff, 0xfe, 0x00, 0x41 }), preview);
    }

}
