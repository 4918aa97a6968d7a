using Aigc.MLNet.Onnx.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Aigc.MLNet.Transforms.Chat;

/// <summary>Registers a <see cref="CausalLMChatClient"/> as the application's <see cref="IChatClient"/>.</summary>
public static class ChatClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IChatClient"/> over the model folder (loaded on first use, disposed with the
    /// service provider) and returns Microsoft.Extensions.AI's <see cref="ChatClientBuilder"/>, so middleware
    /// (<c>.UseLogging()</c>, <c>.UseDistributedCache()</c>, <c>.ConfigureOptions(...)</c>, ...) can be added as for any provider.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="modelPath">Model folder or .onnx file with tokenizer files beside it.</param>
    /// <param name="options">Session options; null for CPU defaults.</param>
    /// <param name="configure">Sets the client's <see cref="CausalLMChatClient.DefaultGeneration"/> or <see cref="CausalLMChatClient.PromptFormatter"/>.</param>
    public static ChatClientBuilder AddCausalLMChatClient(this IServiceCollection services, string modelPath, CausalLMOptions? options = null,
        Action<CausalLMChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        return services.AddChatClient(_ =>
        {
            var client = new CausalLMChatClient(modelPath, options);
            configure?.Invoke(client);
            return client;
        });
    }
}
