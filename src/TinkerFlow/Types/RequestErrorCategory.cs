using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Category of a failed request (<c>category</c>); unrecognised strings read as <see cref="Unknown"/>.</summary>
[JsonConverter(typeof(RequestErrorCategoryJsonConverter))]
public enum RequestErrorCategory
{
    /// <summary>Could not be told (<c>"unknown"</c>).</summary>
    Unknown,

    /// <summary>The backend failed (<c>"server"</c>).</summary>
    Server,

    /// <summary>The request itself was wrong (<c>"user"</c>).</summary>
    User,
}
