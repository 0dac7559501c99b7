"""Reaching Resolve, Fusion and the UI from a Workspace ▸ Scripts entry.

Menu scripts get ``resolve``, ``bmd`` (and on the Fusion page ``fusion``/``fu`` and ``comp``)
injected; some builds give ``app`` instead, whose ``GetResolve()`` answers [hosts notes 2b]. From
outside Resolve (Studio), ``DaVinciResolveScript.scriptapp("Resolve")``, which returns None rather
than raising when Resolve refuses [resolve-standin notes 1.1].
"""

from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from fusionscript import Resolve

__all__ = ["HostError", "find_resolve", "find_bmd", "find_fusion", "find_comp", "is_studio"]


class HostError(Exception):
    """Resolve or Fusion cannot be reached; the message says what to do."""


def _scripting_module() -> Any:
    try:
        import DaVinciResolveScript  # type: ignore[import-not-found]
    except ImportError:
        return None
    return DaVinciResolveScript


def find_resolve(namespace: Mapping[str, Any]) -> "Resolve":
    resolve = namespace.get("resolve")
    if resolve:
        return resolve  # type: ignore[no-any-return]
    app = namespace.get("app")
    if app is not None:
        resolve = app.GetResolve()
        if resolve:
            return resolve  # type: ignore[no-any-return]
    for module in (namespace.get("bmd"), _scripting_module()):
        if module is not None:
            resolve = module.scriptapp("Resolve")
            if resolve:
                return resolve  # type: ignore[no-any-return]
    raise HostError("cannot reach DaVinci Resolve's scripting API: run this from Workspace ▸ Scripts, or "
                    "(Studio) enable Preferences ▸ System ▸ General ▸ External scripting")


def find_bmd(namespace: Mapping[str, Any]) -> Any:
    bmd = namespace.get("bmd") or _scripting_module()
    if bmd is None:
        raise HostError("no 'bmd' module: run this from Workspace ▸ Scripts inside Resolve")
    return bmd


def find_fusion(namespace: Mapping[str, Any], resolve: Optional["Resolve"] = None) -> Any:
    fusion = namespace.get("fusion") or namespace.get("fu")
    if fusion is None and resolve is not None:
        fusion = resolve.Fusion()
    if fusion is None:
        raise HostError("cannot reach Fusion (resolve.Fusion() returned nothing)")
    return fusion


def find_comp(namespace: Mapping[str, Any], fusion: Any) -> Any:
    comp = namespace.get("comp") or namespace.get("composition") or fusion.GetCurrentComp()
    if comp is None:
        raise HostError("no current Fusion composition: open the clip on the Fusion page first")
    return comp


def is_studio(resolve: "Resolve") -> bool:
    return "studio" in str(resolve.GetProductName() or "").lower()
