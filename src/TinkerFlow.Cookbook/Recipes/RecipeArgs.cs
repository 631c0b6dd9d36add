using System.Globalization;
using System.Reflection;

namespace TinkerFlow.Cookbook.Recipes;

/// <summary>
/// Command-line overrides for a recipe's <c>Config</c> record: <c>--key value</c> or <c>--key=value</c>, where key is
/// the property name in kebab-case or snake_case (<c>--log-path</c>, <c>--max_steps</c>). An unknown key is an error
/// that lists the known ones.
/// </summary>
public static class RecipeArgs
{
    /// <summary>Applies the arguments to <paramref name="defaults"/> and returns the new config.</summary>
    /// <typeparam name="T">A record with public settable or init-only properties of type string, bool, int, long, double, enums or their nullable forms.</typeparam>
    /// <param name="defaults">The config with its defaults.</param>
    /// <param name="args">The command-line arguments.</param>
    /// <returns>A copy of <paramref name="defaults"/> with the overrides applied.</returns>
    /// <exception cref="ArgumentException">An unknown key, a missing value or a value of the wrong type.</exception>
    public static T Parse<T>(T defaults, IReadOnlyList<string> args)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(defaults);
        ArgumentNullException.ThrowIfNull(args);
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => Kebab(p.Name), StringComparer.OrdinalIgnoreCase);
        var clone = typeof(T).GetMethod("<Clone>$") ?? throw new ArgumentException($"{typeof(T).Name} must be a record.");
        var config = (T)clone.Invoke(defaults, null)!;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}': use --key value or --key=value.");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var key = (eq > 0 ? arg[2..eq] : arg[2..]).Replace('_', '-');
            if (!properties.TryGetValue(key, out var property))
            {
                throw new ArgumentException($"Unknown option --{key}. Known options: {string.Join(", ", properties.Keys.Order().Select(k => "--" + k))}.");
            }

            string value;
            if (eq > 0)
            {
                value = arg[(eq + 1)..];
            }
            else if ((Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType) == typeof(bool) && (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                value = "true";
            }
            else
            {
                value = i + 1 < args.Count ? args[++i] : throw new ArgumentException($"--{key} needs a value.");
            }

            property.SetValue(config, Convert(value, property.PropertyType, key));
        }

        return config;
    }

    /// <summary>Describes a config as <c>key=value</c> pairs, for the log line a recipe prints first.</summary>
    /// <param name="config">The config.</param>
    /// <returns>One line.</returns>
    public static string Describe(object config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return string.Join(" ", config.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => $"{Kebab(p.Name)}={System.Convert.ToString(p.GetValue(config), CultureInfo.InvariantCulture) ?? "null"}"));
    }

    /// <summary>Client options for a recipe's <c>--base-url</c>: that service when given, else <c>TINKER_BASE_URL</c> or the embedded engine.</summary>
    /// <param name="baseUrl">The recipe's base URL option, or null.</param>
    /// <returns>The options.</returns>
    public static TinkerClientOptions ClientOptions(string? baseUrl)
    {
        var options = new TinkerClientOptions();
        if (baseUrl is not null)
        {
            options.BaseUrl = new Uri(baseUrl);
        }

        return options;
    }

    private static object? Convert(string value, Type type, string key)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (Nullable.GetUnderlyingType(type) is not null && value is "null" or "")
        {
            return null;
        }

        try
        {
            return target switch
            {
                _ when target == typeof(string) => value,
                _ when target == typeof(bool) => bool.Parse(value),
                _ when target == typeof(int) => int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture),
                _ when target == typeof(long) => long.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture),
                _ when target == typeof(double) => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
                _ when target.IsEnum => Enum.Parse(target, value.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true),
                _ => throw new ArgumentException($"--{key}: options of type {target.Name} are not supported."),
            };
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--{key}: '{value}' is not a valid {target.Name}.");
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"--{key}: '{value}' is out of range for {target.Name}.");
        }
        catch (ArgumentException ex) when (target.IsEnum)
        {
            throw new ArgumentException($"--{key}: '{value}' is not one of {string.Join(", ", Enum.GetNames(target))}.", ex);
        }
    }

    private static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
