namespace AppRuntime.Configuration.Internal;

/// <summary>Validates the configurable table name so it can be quoted into SQL safely.</summary>
internal static class TableNames
{
    public const int MaxLength = 40;

    public static string Validate(string? name, string parameterName)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !(char.IsAsciiLetter(name[0]) || name[0] == '_')
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException(
                $"The settings table name '{name}' is invalid: use 1 to {MaxLength} letters, digits or underscores, starting with a letter or underscore.",
                parameterName);
        }
        return name;
    }
}
