using System.Globalization;
using Microsoft.Data.Sqlite;

namespace AppRuntime.Configuration.Sqlite.Internal;

/// <summary>The settings table, its one-row change counter and the triggers that move the counter on every change.</summary>
internal static class SqliteSchema
{
    private const string Now = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

    public static void Ensure(SqliteConnection connection, string table)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
            CREATE TABLE IF NOT EXISTS "{table}" (
                key TEXT NOT NULL PRIMARY KEY,
                value TEXT NULL,
                version INTEGER NOT NULL DEFAULT 0,
                updated_at TEXT NOT NULL DEFAULT ({Now}));
            CREATE TABLE IF NOT EXISTS "{table}_version" (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                version INTEGER NOT NULL);
            INSERT OR IGNORE INTO "{table}_version" (id, version) VALUES (1, 0);
            CREATE TRIGGER IF NOT EXISTS "{table}_after_insert" AFTER INSERT ON "{table}" BEGIN
                UPDATE "{table}_version" SET version = version + 1 WHERE id = 1;
                UPDATE "{table}" SET version = (SELECT version FROM "{table}_version" WHERE id = 1), updated_at = {Now} WHERE key = NEW.key;
            END;
            CREATE TRIGGER IF NOT EXISTS "{table}_after_update" AFTER UPDATE OF key, value ON "{table}" BEGIN
                UPDATE "{table}_version" SET version = version + 1 WHERE id = 1;
                UPDATE "{table}" SET version = (SELECT version FROM "{table}_version" WHERE id = 1), updated_at = {Now} WHERE key = NEW.key;
            END;
            CREATE TRIGGER IF NOT EXISTS "{table}_after_delete" AFTER DELETE ON "{table}" BEGIN
                UPDATE "{table}_version" SET version = version + 1 WHERE id = 1;
            END;
            """);
        command.ExecuteNonQuery();
        transaction.Commit();
    }
}
