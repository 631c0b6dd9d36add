using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// Turns chat messages into tokens for one model family's chat template, and sampled tokens back into a message
/// (the cookbook's <c>Renderer</c>): generation prompts, supervised examples with per-token loss weights, response
/// parsing and stop sequences.
/// </summary>
/// <remarks>
/// <para>
/// Each message renders as a header (role markers), an output (content plus end-of-turn) and, after the last message
/// only, a stop overlap. A renderer has the <em>extension property</em> when the generation prompt for the first k
/// messages is a token prefix of the supervised example for k+1 messages; all renderers here have it as long as no
/// assistant message's thinking is stripped from history.
/// </para>
/// <para>
/// Content is encoded with special tokens enabled, as Hugging Face tokenizers do, so a literal <c>&lt;think&gt;</c> in
/// the text becomes the special token. Renderers resolve the special tokens they need in the constructor and throw
/// an <see cref="ArgumentException"/> naming any the tokenizer lacks.
/// </para>
/// </remarks>
public abstract class Renderer
{
    private readonly HashSet<int> _specialTokenIds = [];

    /// <summary>Creates a renderer over a tokenizer.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="name">The renderer name recorded with checkpoints, e.g. <c>qwen3</c>.</param>
    protected Renderer(TinkerTokenizer tokenizer, string name)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Tokenizer = tokenizer;
        Name = name;
    }

    /// <summary>The tokenizer the renderer encodes with.</summary>
    public TinkerTokenizer Tokenizer { get; }

    /// <summary>The renderer name (e.g. <c>qwen3</c>, <c>llama3</c>, <c>role_colon</c>), stored with checkpoints.</summary>
    public string Name { get; }

    /// <summary>
    /// Ids of the template's special tokens (those resolved with <see cref="RequireSpecialToken"/>). Bits-per-byte
    /// excludes them, since their text is markup rather than content.
    /// </summary>
    public IReadOnlySet<int> SpecialTokenIds => _specialTokenIds;

    /// <summary>Tokens every sequence starts with (e.g. Llama's <c>&lt;|begin_of_text|&gt;</c>); empty by default.</summary>
    protected virtual IReadOnlyList<int> BosTokens => [];

    /// <summary>Renders one message of a conversation.</summary>
    /// <param name="message">The message.</param>
    /// <param name="context">Its position in the conversation.</param>
    /// <returns>The header, output and stop-overlap tokens.</returns>
    public abstract RenderedMessage RenderMessage(Message message, RenderContext context);

    /// <summary>Parses sampled tokens into an assistant message (the cookbook's <c>parse_response</c>).</summary>
    /// <param name="tokens">The sampled tokens, with or without the trailing stop.</param>
    /// <returns>The message and whether the response ended properly (false when no stop was found, e.g. a
    /// <c>length</c> stop).</returns>
    public abstract (Message Message, bool ParsedOk) ParseResponse(IReadOnlyList<int> tokens);

    /// <summary>The stop condition to sample with, so generation ends at the end of the assistant turn.</summary>
    /// <returns>Stop token ids or stop strings, for <see cref="SamplingParams.Stop"/>.</returns>
    public abstract StopCondition GetStopSequences();

    /// <summary>
    /// Builds the prompt for sampling the next message: the conversation, then the open header of a
    /// <paramref name="role"/> message, then <paramref name="prefill"/> (the cookbook's <c>build_generation_prompt</c>).
    /// </summary>
    /// <param name="messages">The conversation so far.</param>
    /// <param name="role">The role of the message to generate.</param>
    /// <param name="prefill">Text the response is forced to start with, appended verbatim after the open header, or null
    /// (for <see cref="RoleColonRenderer"/>, whose outputs start with a space, pass e.g. <c>" The answer is"</c>).</param>
    /// <returns>The prompt tokens.</returns>
    public virtual ModelInput BuildGenerationPrompt(IReadOnlyList<Message> messages, string role = MessageRoles.Assistant, string? prefill = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        var lastUser = LastUserIndex(messages);
        var tokens = new List<int>(BosTokens);
        for (var i = 0; i < messages.Count; i++)
        {
            var rendered = RenderMessage(CheckMessage(messages, i), new RenderContext(i, IsLast: false, lastUser));
            tokens.AddRange(rendered.Header);
            tokens.AddRange(rendered.Output);
        }

        var open = RenderMessage(new Message(role, string.Empty), new RenderContext(messages.Count, IsLast: true, lastUser));
        tokens.AddRange(open.Header);
        if (!string.IsNullOrEmpty(prefill))
        {
            tokens.AddRange(EncodeText(prefill));
        }

        return ModelInput.FromInts(tokens);
    }

    /// <summary>
    /// Renders a whole conversation with a loss weight per token (the cookbook's <c>build_supervised_example</c>).
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="trainOnWhat">Which tokens get weight 1; note the default differs from <c>DatumBuilder.ConversationToDatum</c>'s.</param>
    /// <returns>The tokens and one weight (0 or 1) per token, before the one-token shift.</returns>
    public virtual (ModelInput ModelInput, float[] Weights) BuildSupervisedExample(IReadOnlyList<Message> messages, TrainOnWhat trainOnWhat = TrainOnWhat.LastAssistantMessage)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new ArgumentException("messages is empty: a supervised example needs at least one message.", nameof(messages));
        }

        var lastUser = LastUserIndex(messages);
        var tokens = new List<int>(BosTokens);
        var weights = new List<float>(Enumerable.Repeat(0f, tokens.Count));
        for (var i = 0; i < messages.Count; i++)
        {
            var message = CheckMessage(messages, i);
            CheckTrainable(message, i, trainOnWhat);
            var isLast = i == messages.Count - 1;
            var rendered = RenderMessage(message, new RenderContext(i, isLast, lastUser));
            var outputWeight = OutputHasWeight(message, i, isLast, lastUser, trainOnWhat) ? 1f : 0f;
            Add(rendered.Header, trainOnWhat == TrainOnWhat.AllTokens ? 1f : 0f);
            Add(rendered.Output, outputWeight);
            if (isLast)
            {
                Add(rendered.StopOverlap, outputWeight);
            }
        }

        return (ModelInput.FromInts(tokens), [.. weights]);

        void Add(IReadOnlyList<int> part, float weight)
        {
            tokens.AddRange(part);
            weights.AddRange(Enumerable.Repeat(weight, part.Count));
        }
    }

    /// <summary>Resolves a special token of the template, failing clearly when the tokenizer lacks it.</summary>
    /// <param name="token">The token text, e.g. <c>&lt;|im_end|&gt;</c>.</param>
    /// <returns>Its id, now also listed in <see cref="SpecialTokenIds"/>.</returns>
    /// <exception cref="ArgumentException">The tokenizer has no such single token.</exception>
    protected int RequireSpecialToken(string token)
    {
        var id = Tokenizer.TokenToId(token)
            ?? throw new ArgumentException(
                $"The tokenizer '{Tokenizer.Name}' has no special token '{token}', which the '{Name}' renderer needs. " +
                "Pick the renderer that matches the model's chat template (Qwen3Renderer for ChatML/Qwen models, Llama3Renderer for Llama 3, RoleColonRenderer for base models without chat tokens).");
        _specialTokenIds.Add(id);
        return id;
    }

    /// <summary>Encodes message text (special-token strings in it map to their ids, as in Hugging Face tokenizers).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The token ids.</returns>
    protected IReadOnlyList<int> EncodeText(string text) => text.Length == 0 ? [] : Tokenizer.Encode(text, allowSpecialTokens: true);

    /// <summary>
    /// Parses a response that ends with a stop token: the content is the text before the first stop token.
    /// </summary>
    /// <param name="tokens">The sampled tokens.</param>
    /// <param name="stopToken">The end-of-turn token id.</param>
    /// <returns>The assistant message and whether the stop token was found (tokens after it are ignored).</returns>
    protected (Message Message, bool ParsedOk) ParseUntilStopToken(IReadOnlyList<int> tokens, int stopToken)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var end = -1;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] == stopToken)
            {
                end = i;
                break;
            }
        }

        return end < 0
            ? (Message.Assistant(Tokenizer.Decode(tokens)), false)
            : (Message.Assistant(Tokenizer.Decode(tokens.Take(end))), true);
    }

    private static int LastUserIndex(IReadOnlyList<Message> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i]?.Role == MessageRoles.User)
            {
                return i;
            }
        }

        return -1;
    }

    private static Message CheckMessage(IReadOnlyList<Message> messages, int index) =>
        messages[index] is { } m && m.Role is not null && m.Content is not null
            ? m
            : throw new ArgumentException($"messages[{index}] is null or has a null role or content.", nameof(messages));

    private static void CheckTrainable(Message message, int index, TrainOnWhat trainOnWhat)
    {
        if (trainOnWhat == TrainOnWhat.Customized && message.Trainable is null)
        {
            throw new ArgumentException($"TrainOnWhat.Customized needs Message.Trainable on every message; messages[{index}] ({message.Role}) has none.");
        }

        if (trainOnWhat != TrainOnWhat.Customized && message.Trainable is not null)
        {
            throw new ArgumentException($"messages[{index}] sets Trainable, which only TrainOnWhat.Customized reads, but trainOnWhat is {trainOnWhat}. Use Customized or clear Trainable.");
        }
    }

    private static bool OutputHasWeight(Message message, int index, bool isLast, int lastUser, TrainOnWhat trainOnWhat)
    {
        var isAssistant = message.Role == MessageRoles.Assistant;
        return trainOnWhat switch
        {
            TrainOnWhat.LastAssistantMessage => isLast && isAssistant,
            TrainOnWhat.LastAssistantTurn => isAssistant && index > lastUser,
            TrainOnWhat.AllAssistantMessages => isAssistant,
            TrainOnWhat.AllMessages or TrainOnWhat.AllTokens => true,
            TrainOnWhat.AllUserAndSystemMessages => message.Role is MessageRoles.User or MessageRoles.System,
            TrainOnWhat.Customized => message.Trainable == true,
            _ => throw new ArgumentOutOfRangeException(nameof(trainOnWhat), trainOnWhat, "Unknown TrainOnWhat value."),
        };
    }
}
