"""The UIManager windows of the FilmStyle scripts, and their entry points.

UIManager (``fusion.UIManager`` + ``bmd.UIDispatcher``) runs one event loop (``RunLoop``) on
Resolve's thread [UIM]. A render takes minutes, so it runs on a Python thread that only talks to
the worker; everything that touches Resolve or the window happens in event handlers: the thread
puts what happened on a queue and wakes the loop with ``ui.QueueEvent`` on a hidden button, whose
Clicked handler applies it (progress text, landing a finished render as a take, the end).
"""

import os
import queue
import threading
import traceback
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from filmstyle_plugin.client import WorkerClient, WorkerError
from filmstyle_plugin.fuse_gen import fuse_inputs
from filmstyle_plugin.resolve import add_node as node
from filmstyle_plugin.resolve import app
from filmstyle_plugin.resolve import stylize as flow
from filmstyle_plugin.resolve.timeline import CLIP_COLORS, current_track

if TYPE_CHECKING:
    from fusionscript import Project, Timeline

__all__ = ["StylizeWindow", "AddNodeWindow", "run_stylize", "run_add_node", "TARGETS"]

TARGETS = ("Clip under the playhead", "Clip colour on a video track")


def _builtin_styles() -> List[str]:
    for inp in fuse_inputs():
        if inp.name == "style":
            return list(inp.choices)
    return ["starry-blue"]


class _Window:
    """Shared plumbing: the window, a message box, the thread → loop queue."""

    def __init__(self, ui: Any, dispatcher: Any) -> None:
        self.ui, self.disp = ui, dispatcher
        self.win: Any = None
        self.events: "queue.Queue[Tuple[str, Any]]" = queue.Queue()
        self.messages: List[str] = []

    def item(self, element_id: str) -> Any:
        return self.win.Find(element_id)

    def say(self, line: str) -> None:
        self.messages.append(line)
        self.item("Messages").PlainText = "\n".join(self.messages[-200:])

    def post(self, kind: str, payload: Any = None) -> None:
        """From any thread: hand ``(kind, payload)`` to the event loop."""
        self.events.put((kind, payload))
        self.ui.QueueEvent(self.item("Tick"), "Clicked", {})

    def _tick(self, ev: Any) -> None:
        while True:
            try:
                kind, payload = self.events.get_nowait()
            except queue.Empty:
                return
            try:
                self.handle(kind, payload)
            except Exception as exc:  # a handler bug must not leave the window stuck
                self.say(f"internal error: {type(exc).__name__}: {exc}")
                traceback.print_exc()

    def handle(self, kind: str, payload: Any) -> None:
        raise NotImplementedError

    def _tick_button(self) -> Any:
        return self.ui.Button({"ID": "Tick", "Text": "", "Hidden": True, "Weight": 0})

    def show(self) -> None:
        self.win.On.Tick.Clicked = self._tick
        self.win.Show()
        self.disp.RunLoop()
        self.win.Hide()


class StylizeWindow(_Window):
    """"FilmStyle: Stylize clips"."""

    def __init__(self, ui: Any, dispatcher: Any, project: "Project", timeline: "Timeline") -> None:
        super().__init__(ui, dispatcher)
        self.project, self.timeline = project, timeline
        self.styles = _builtin_styles()
        self.cancel_requested = False
        self.thread: Optional[threading.Thread] = None
        self.plans: List[flow.ClipPlan] = []
        self.results: List[str] = []
        ui_ = ui
        label_width = {"MinimumSize": [130, 0], "Weight": 0}
        layout = ui_.VGroup({"Spacing": 6}, [
            ui_.Label({"ID": "Title", "Text": f"FilmStyle — stylize clips of '{timeline.GetName()}'", "Weight": 0}),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label(dict(label_width, Text="Clips")),
                ui_.ComboBox({"ID": "Target"}),
                ui_.Label({"Text": "Track", "Weight": 0}),
                ui_.SpinBox({"ID": "Track", "Minimum": 1, "Maximum": 99, "Value": current_track(timeline)}),
                ui_.Label({"Text": "Colour", "Weight": 0}),
                ui_.ComboBox({"ID": "Colour"}),
            ]),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label(dict(label_width, Text="Style (no markers)")),
                ui_.ComboBox({"ID": "Style"}),
                ui_.Label({"Text": "Strength", "Weight": 0}),
                ui_.LineEdit({"ID": "Strength", "Text": "1.0"}),
            ]),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label(dict(label_width, Text="Job file (optional)")),
                ui_.LineEdit({"ID": "JobFile", "PlaceholderText": "its look replaces the style above; markers still key"}),
            ]),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label(dict(label_width, Text="Handles")),
                ui_.SpinBox({"ID": "Handles", "Minimum": 0, "Maximum": 1000, "Value": 8}),
                ui_.Label({"Text": "Input colourspace", "Weight": 0}),
                ui_.LineEdit({"ID": "Colourspace", "PlaceholderText": "empty: the file's default"}),
            ]),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label(dict(label_width, Text="Output folder")),
                ui_.LineEdit({"ID": "Output", "PlaceholderText": "empty: a 'filmstyle' folder beside each clip's media"}),
            ]),
            ui_.Label({"ID": "Progress", "Text": "Ready.", "Weight": 0}),
            ui_.TextEdit({"ID": "Messages", "ReadOnly": True}),
            ui_.HGroup({"Weight": 0}, [
                ui_.Button({"ID": "Stylize", "Text": "Stylize"}),
                ui_.Button({"ID": "Cancel", "Text": "Cancel", "Enabled": False}),
                ui_.Button({"ID": "Close", "Text": "Close"}),
                self._tick_button(),
            ]),
        ])
        self.win = dispatcher.AddWindow({"ID": "FilmStyleStylize", "WindowTitle": "FilmStyle: Stylize clips",
                                         "Geometry": [200, 200, 760, 520]}, layout)
        for target in TARGETS:
            self.item("Target").AddItem(target)
        for colour in CLIP_COLORS:
            self.item("Colour").AddItem(colour)
        for style in self.styles:
            self.item("Style").AddItem(style)
        self.item("Style").CurrentIndex = self.styles.index("starry-blue") if "starry-blue" in self.styles else 0
        self.win.On.Stylize.Clicked = self.on_stylize
        self.win.On.Cancel.Clicked = self.on_cancel
        self.win.On.Close.Clicked = self.on_close
        self.win.On.FilmStyleStylize.Close = self.on_close

    # -- reading the window ---------------------------------------------------------------------
    def options(self) -> flow.Options:
        strength_text = str(self.item("Strength").Text or "").strip()
        try:
            strength = float(strength_text)
        except ValueError:
            raise flow.PlanError([f"Strength: {strength_text!r} is not a number"]) from None
        if not 0.0 <= strength <= 2.0:
            raise flow.PlanError([f"Strength: {strength:g} is outside 0..2"])
        target = "current" if int(self.item("Target").CurrentIndex or 0) == 0 else "colour"
        return flow.Options(
            target=target,
            track=int(self.item("Track").Value or 1),
            colour=CLIP_COLORS[int(self.item("Colour").CurrentIndex or 0)],
            handles=int(self.item("Handles").Value or 0),
            style=self.styles[int(self.item("Style").CurrentIndex or 0)],
            strength=strength,
            job_file=str(self.item("JobFile").Text or "").strip(),
            output_root=os.path.expanduser(str(self.item("Output").Text or "").strip()),
            input_colorspace=str(self.item("Colourspace").Text or "").strip(),
        )

    def busy(self, running: bool) -> None:
        self.item("Stylize").Enabled = not running
        self.item("Cancel").Enabled = running

    # -- handlers ----------------------------------------------------------------------------------
    def on_stylize(self, ev: Any) -> None:
        if self.thread is not None:
            return
        self.messages.clear()
        try:
            options = self.options()
            items = flow.target_items(self.timeline, options)
            job_data = flow.load_job_file(options.job_file) if options.job_file else None
            self.plans = flow.plan_clips(self.timeline, items, options, flow.base_look(options, job_data))
        except flow.PlanError as exc:
            self.item("Progress").Text = "Nothing rendered: fix the problems below and press Stylize again."
            for line in exc.lines:
                self.say(line)
            return
        except WorkerError as exc:
            self.item("Progress").Text = "Nothing rendered."
            self.say(str(exc))
            return
        for line in flow.summary(self.plans):
            self.say(line)
        self.cancel_requested = False
        self.results = []
        self.busy(True)
        self.item("Progress").Text = "Starting the filmstyle worker…"
        self.thread = threading.Thread(target=self._render_all, name="filmstyle-resolve", daemon=True)
        self.thread.start()

    def on_cancel(self, ev: Any) -> None:
        if self.thread is not None:
            self.cancel_requested = True
            self.item("Progress").Text = "Cancelling after the current frame…"

    def on_close(self, ev: Any) -> None:
        if self.thread is not None:
            self.cancel_requested = True
            self.thread.join(timeout=60)
        self.disp.ExitLoop()

    # -- the render thread (talks to the worker only) ------------------------------------------------
    def _render_all(self) -> None:
        try:
            client = WorkerClient.connect(start=True)
            for index, plan in enumerate(self.plans):
                if self.cancel_requested:
                    self.post("skipped", index)
                    continue

                def progress(status: Dict[str, Any], i: int = index) -> None:
                    self.post("progress", (i, status))

                try:
                    final = flow.render_clip(client, plan, progress, lambda: self.cancel_requested)
                except WorkerError as exc:  # this item refused (e.g. a frame missing): the others go on
                    self.post("error", f"{plan.name}: {exc}; no take added")
                    continue
                self.post("rendered", (index, final))
        except WorkerError as exc:
            self.post("error", str(exc))
        except Exception as exc:  # report, never leave the window busy
            self.post("error", f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.post("finished")

    # -- applied on the event loop -------------------------------------------------------------------
    def handle(self, kind: str, payload: Any) -> None:
        if kind == "progress":
            index, status = payload
            plan = self.plans[index]
            done, total = status.get("done", 0), status.get("total") or plan.frames
            fps = float(status.get("fps") or 0.0)
            rate = f", {fps:.2f} fps" if fps > 0 else ""
            self.item("Progress").Text = f"{plan.name} ({index + 1}/{len(self.plans)}): frame {done}/{total}{rate}"
        elif kind == "rendered":
            index, status = payload
            plan = self.plans[index]
            written = int(status.get("written", 0)) + int(status.get("skipped", 0))
            if status.get("state") != "done" or written != plan.frames:
                self.say(f"{plan.name}: {flow.describe_failure(status)}")
                return
            try:
                self.say(flow.land_take(self.project, plan))
                self.results.append(plan.name)
            except flow.TakeError as exc:
                self.say(str(exc))
        elif kind == "skipped":
            self.say(f"{self.plans[payload].name}: not rendered (cancelled)")
        elif kind == "error":
            self.say(payload)
        elif kind == "finished":
            self.thread = None
            self.busy(False)
            self.item("Progress").Text = (f"Done: {len(self.results)} of {len(self.plans)} clip(s) have a new take."
                                          if not self.cancel_requested else
                                          f"Cancelled: {len(self.results)} of {len(self.plans)} clip(s) have a new take.")


class AddNodeWindow(_Window):
    """"FilmStyle: Add node"."""

    def __init__(self, ui: Any, dispatcher: Any, comp: Any) -> None:
        super().__init__(ui, dispatcher)
        self.comp = comp
        attrs = comp.GetAttrs() or {}
        start = int(attrs.get("COMPN_RenderStart", attrs.get("COMPN_GlobalStart", 0)) or 0)
        ui_ = ui
        layout = ui_.VGroup({"Spacing": 6}, [
            ui_.HGroup({"Weight": 0}, [
                ui_.Label({"Text": "Job file", "Weight": 0, "MinimumSize": [150, 0]}),
                ui_.LineEdit({"ID": "JobFile", "PlaceholderText": "a filmstyle job (YAML or JSON)"}),
            ]),
            ui_.HGroup({"Weight": 0}, [
                ui_.Label({"Text": "Job's first frame lands on comp frame", "Weight": 0}),
                ui_.SpinBox({"ID": "CompFrame", "Minimum": -1000000, "Maximum": 10000000, "Value": start}),
            ]),
            ui_.TextEdit({"ID": "Messages", "ReadOnly": True}),
            ui_.HGroup({"Weight": 0}, [
                ui_.Button({"ID": "Add", "Text": "Add node"}),
                ui_.Button({"ID": "Close", "Text": "Close"}),
                self._tick_button(),
            ]),
        ])
        self.win = dispatcher.AddWindow({"ID": "FilmStyleAddNode", "WindowTitle": "FilmStyle: Add node",
                                         "Geometry": [240, 240, 620, 360]}, layout)
        self.win.On.Add.Clicked = self.on_add
        self.win.On.Close.Clicked = self.on_close
        self.win.On.FilmStyleAddNode.Close = self.on_close
        self.tool: Any = None

    def on_add(self, ev: Any) -> None:
        path = os.path.expanduser(str(self.item("JobFile").Text or "").strip())
        if not path:
            self.say("Job file: give the path of a filmstyle job")
            return
        try:
            job = flow.load_job_file(path, fields=None)
            first = node.job_first_frame(job)
            offset = int(self.item("CompFrame").Value or 0) - (first if first is not None else 0)
            static, curves = node.node_settings(job)
            self.tool = node.add_node(self.comp, job, offset=offset)
        except (flow.PlanError, node.NodeError, WorkerError) as exc:
            for line in getattr(exc, "lines", [str(exc)]):
                self.say(line)
            return
        self.say(f"added {node.FUSE_REG_ID} (job frames + {offset:g} = comp frames):")
        for line in node.summarise(static, curves, offset):
            self.say("  " + line)

    def on_close(self, ev: Any) -> None:
        self.disp.ExitLoop()

    def handle(self, kind: str, payload: Any) -> None:
        pass


def _dispatcher(namespace: Mapping[str, Any]) -> Tuple[Any, Any, Any]:
    resolve = app.find_resolve(namespace)
    fusion = app.find_fusion(namespace, resolve)
    ui = fusion.UIManager
    bmd = app.find_bmd(namespace)
    return resolve, ui, bmd.UIDispatcher(ui)


def run_stylize(namespace: Mapping[str, Any]) -> Optional[StylizeWindow]:
    """Entry point of "FilmStyle: Stylize clips" (Edit and Color pages)."""
    try:
        resolve, ui, disp = _dispatcher(namespace)
        project = resolve.GetProjectManager().GetCurrentProject()
        timeline = project.GetCurrentTimeline() if project is not None else None
        if not timeline:
            raise app.HostError("open a timeline first (no current timeline)")
    except app.HostError as exc:
        print(f"FilmStyle: {exc}")
        return None
    window = StylizeWindow(ui, disp, project, timeline)
    window.show()
    return window


def run_add_node(namespace: Mapping[str, Any]) -> Optional[AddNodeWindow]:
    """Entry point of "FilmStyle: Add node" (Fusion page)."""
    try:
        resolve, ui, disp = _dispatcher(namespace)
        comp = app.find_comp(namespace, app.find_fusion(namespace, resolve))
    except app.HostError as exc:
        print(f"FilmStyle: {exc}")
        return None
    window = AddNodeWindow(ui, disp, comp)
    window.show()
    return window

