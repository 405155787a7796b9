using System.Globalization;
using Npgsql;

namespace AppRuntime.Configuration.PostgreSql.Internal;

/// <summary>
/// The settings table, its one-row change counter, and a row trigger that moves the counter, stamps the row and NOTIFYs the
/// table's channel on every INSERT, UPDATE and DELETE. Creation is idempotent and serialized by an advisory lock, so several
/// instances starting at once do not race.
/// </summary>
internal static class PostgreSqlSchema
{
    public static string Script(string table, string channel) => string.Create(CultureInfo.InvariantCulture, $$"""
        SELECT pg_advisory_xact_lock(hashtext('appruntime-config-schema:{{table}}'));
        CREATE TABLE IF NOT EXISTS "{{table}}" (
            key text NOT NULL PRIMARY KEY,
            value text NULL,
            version bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS "{{table}}_version" (
            id integer NOT NULL PRIMARY KEY CHECK (id = 1),
            version bigint NOT NULL);
        INSERT INTO "{{table}}_version" (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
        CREATE OR REPLACE FUNCTION "{{table}}_changed"() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            v bigint;
        BEGIN
            UPDATE "{{table}}_version" SET version = version + 1 WHERE id = 1 RETURNING version INTO v;
            PERFORM pg_notify('{{channel}}', '');
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            NEW.version := v;
            NEW.updated_at := now();
            RETURN NEW;
        END
        $fn$;
        DO $do$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{{table}}_changed' AND tgrelid = '"{{table}}"'::regclass) THEN
                CREATE TRIGGER "{{table}}_changed" BEFORE INSERT OR UPDATE OR DELETE ON "{{table}}"
                    FOR EACH ROW EXECUTE FUNCTION "{{table}}_changed"();
            END IF;
        END
        $do$;
        """);

    public static void Ensure(NpgsqlDataSource dataSource, string table, string channel)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using var command = new NpgsqlCommand(Script(table, channel), connection, transaction);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    public static async Task EnsureAsync(NpgsqlDataSource dataSource, string table, string channel, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var command = new NpgsqlCommand(Script(table, channel), connection, transaction);
                await using (command.ConfigureAwait(false))
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
