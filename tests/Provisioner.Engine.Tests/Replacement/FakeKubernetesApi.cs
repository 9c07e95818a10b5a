using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Provisioner.Engine.Tests.Replacement;

/// <summary>
/// A tiny Kubernetes API server on 127.0.0.1 (HttpListener, random port) that answers the calls a drain makes
/// (read/patch/delete Node, list pods by node, pod evictions) from an in-memory set of pods, and records every
/// call in order, so tests assert the real HTTP sequence the client sends.
/// </summary>
public sealed class FakeKubernetesApi : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeKubernetesApi()
    {
        for (var attempt = 0; ; attempt++)
        {
            Port = Random.Shared.Next(20000, 60000);
            try
            {
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 20)
            {
            }
        }

        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Calls as <c>METHOD path?query</c>, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Request bodies of PATCH calls.</summary>
    public ConcurrentQueue<string> Patches { get; } = new();

    public bool NodeExists { get; set; } = true;

    public bool Unschedulable { get; private set; }

    /// <summary>When true, evictions are refused with 429 (a PodDisruptionBudget) and pods never leave.</summary>
    public bool RefuseEvictions { get; set; }

    public void AddPod(string ns, string name, string node, string? ownerKind = null, bool mirror = false)
    {
        var metadata = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (ownerKind is not null)
        {
            metadata["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "apps/v1", ["kind"] = ownerKind, ["name"] = name + "-owner", ["uid"] = Guid.NewGuid().ToString(), ["controller"] = true,
            });
        }

        if (mirror)
        {
            metadata["annotations"] = new JsonObject { ["kubernetes.io/config.mirror"] = "abc" };
        }

        _pods[$"{ns}/{name}"] = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = new JsonArray() },
            ["status"] = new JsonObject { ["phase"] = "Running" },
        };
    }

    public IReadOnlyCollection<string> Pods => [.. _pods.Keys];

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await HandleAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var path = request.Url!.AbsolutePath;
        var query = Uri.UnescapeDataString(request.Url.Query);
        using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        Calls.Enqueue($"{request.HttpMethod} {path}{query}");
        var segments = path.Trim('/').Split('/');

        switch (request.HttpMethod, segments)
        {
            case ("GET", ["api", "v1", "nodes", var node]):
                await (NodeExists ? Answer(context, 200, NodeJson(node)) : NotFound(context, "nodes", node));
                return;
            case ("PATCH", ["api", "v1", "nodes", var node]):
                Patches.Enqueue(body);
                Unschedulable = body.Contains("\"unschedulable\":true", StringComparison.Ordinal);
                await (NodeExists ? Answer(context, 200, NodeJson(node)) : NotFound(context, "nodes", node));
                return;
            case ("DELETE", ["api", "v1", "nodes", var node]):
                if (!NodeExists)
                {
                    await NotFound(context, "nodes", node);
                    return;
                }

                NodeExists = false;
                await Answer(context, 200, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success" });
                return;
            case ("GET", ["api", "v1", "pods"]):
                var nodeName = query.Split("spec.nodeName=").ElementAtOrDefault(1)?.Split('&')[0];
                var items = new JsonArray([.. _pods.Values.Where(p => (string?)p["spec"]!["nodeName"] == nodeName).Select(p => (JsonNode)p.DeepClone())]);
                await Answer(context, 200, new JsonObject { ["kind"] = "PodList", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["items"] = items });
                return;
            case ("POST", ["api", "v1", "namespaces", var ns, "pods", var pod, "eviction"]):
                if (RefuseEvictions)
                {
                    await Answer(context, 429, Status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."));
                    return;
                }

                if (!_pods.TryRemove($"{ns}/{pod}", out _))
                {
                    await NotFound(context, "pods", pod);
                    return;
                }

                await Answer(context, 201, new JsonObject { ["kind"] = "Eviction", ["apiVersion"] = "policy/v1", ["metadata"] = new JsonObject { ["name"] = pod, ["namespace"] = ns } });
                return;
            default:
                await Answer(context, 404, Status(404, "NotFound", "no such path in the fake"));
                return;
        }
    }

    private static JsonObject NodeJson(string node) => new()
    {
        ["kind"] = "Node", ["apiVersion"] = "v1", ["metadata"] = new JsonObject { ["name"] = node }, ["spec"] = new JsonObject(),
    };

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code,
    };

    private static Task NotFound(HttpListenerContext context, string kind, string name) =>
        Answer(context, 404, Status(404, "NotFound", $"{kind} \"{name}\" not found"));

    private static async Task Answer(HttpListenerContext context, int status, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }
}
