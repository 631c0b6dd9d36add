using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace TinkerFlow.Analyzers;

/// <summary>
/// TorchSharp 0.107's <c>Scalar</c> is a finalizable wrapper whose handle TorchSharp passes to native code without
/// <c>GC.KeepAlive</c>. A temporary Scalar (<c>t.lt(0)</c>, <c>t * 0.5</c>, <c>a + b</c>, which adds with alpha 1) is
/// unreachable during the native call, so a GC on another thread can free it while libtorch reads it: a crash
/// ("Expected false to be true ... toLong") or a silently wrong value. TF1001 reports implicit conversions to Scalar
/// in our code; TF1002 reports calls to TorchSharp members that make such a temporary themselves
/// (TorchSharpScalarTemporaries.txt). The fix is an explicit Scalar that outlives the call: a cached one
/// (TinkerFlow.Torch's <c>Scalars</c>) or <c>using var s = value.ToScalar()</c>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TorchScalarLifetimeAnalyzer : DiagnosticAnalyzer
{
    private const string Category = "Reliability";

    internal static readonly DiagnosticDescriptor ImplicitScalar = new(
        "TF1001",
        "Implicit conversion to TorchSharp.Scalar",
        "Implicit conversion of '{0}' to TorchSharp.Scalar: the temporary can be finalized while native code reads it; pass a kept-alive Scalar (Scalars.* or 'using var s = value.ToScalar()')",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    internal static readonly DiagnosticDescriptor TemporaryInside = new(
        "TF1002",
        "TorchSharp member creates a temporary Scalar",
        "'{0}' creates a temporary TorchSharp.Scalar that can be finalized while native code reads it; call the overload that takes a kept-alive Scalar",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly Lazy<HashSet<string>> Temporaries = new(LoadTemporaries);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(ImplicitScalar, TemporaryInside);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName("TorchSharp.Scalar");
            if (scalar is null)
                return;
            start.RegisterOperationAction(c => AnalyzeConversion(c, scalar), OperationKind.Conversion);
            start.RegisterOperationAction(c => Report(c, ((IInvocationOperation)c.Operation).TargetMethod), OperationKind.Invocation);
            start.RegisterOperationAction(c => Report(c, ((IBinaryOperation)c.Operation).OperatorMethod), OperationKind.Binary);
            start.RegisterOperationAction(c => Report(c, ((IUnaryOperation)c.Operation).OperatorMethod), OperationKind.Unary);
            start.RegisterOperationAction(c => Report(c, ((ICompoundAssignmentOperation)c.Operation).OperatorMethod), OperationKind.CompoundAssignment);
            start.RegisterOperationAction(c => Report(c, ((IObjectCreationOperation)c.Operation).Constructor), OperationKind.ObjectCreation);
            start.RegisterOperationAction(c => Report(c, ((IPropertyReferenceOperation)c.Operation).Property.GetMethod), OperationKind.PropertyReference);
        });
    }

    private static void AnalyzeConversion(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (conversion.Conversion.IsUserDefined && SymbolEqualityComparer.Default.Equals(conversion.Type, scalar))
        {
            if (conversion.IsImplicit || conversion.Conversion.IsImplicit)
                context.ReportDiagnostic(Diagnostic.Create(ImplicitScalar, conversion.Syntax.GetLocation(), conversion.Operand.Type?.ToDisplayString() ?? "value"));
            return;
        }
        Report(context, conversion.OperatorMethod);
    }

    private static void Report(OperationAnalysisContext context, IMethodSymbol? method)
    {
        if (method is null || method.ContainingAssembly?.Name != "TorchSharp")
            return;
        var id = (method.ReducedFrom ?? method).OriginalDefinition.GetDocumentationCommentId();
        if (id is not null && Temporaries.Value.Contains(id))
            context.ReportDiagnostic(Diagnostic.Create(TemporaryInside, context.Operation.Syntax.GetLocation(), method.ToDisplayString()));
    }

    private static HashSet<string> LoadTemporaries()
    {
        using var stream = typeof(TorchScalarLifetimeAnalyzer).Assembly.GetManifestResourceStream("TorchSharpScalarTemporaries.txt")
            ?? throw new InvalidOperationException("TorchSharpScalarTemporaries.txt is not embedded in TinkerFlow.Analyzers.");
        using var reader = new StreamReader(stream);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            line = line.Trim();
            if (line.Length > 0 && line[0] != '#')
                ids.Add(line);
        }
        return ids;
    }
}
