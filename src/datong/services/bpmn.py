"""Review flows as BPMN 2.0, run by SpiffWorkflow (ADR 0011).

A service item's flow is a BPMN process whose user tasks sit in lanes named by the reviewing
departments (credit code or name), so a bureau can draw its own in any BPMN modeler. Most items
need only stages of parallel reviews; :func:`review_flow` writes that process, with its diagram
(BPMN DI), so the console can draw it. A case's running state is SpiffWorkflow's own JSON,
kept in the case row; nothing of the engine lives in memory between requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import quoteattr

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.util.task import TaskState

from datong.errors import InvalidInput
from datong.i18n import N_, Message

MAX_FLOW = 512 * 1024  # a drawn flow with its diagram is a few tens of kilobytes
_SERIALIZER = BpmnWorkflowSerializer()
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
      'xmlns:di="http://www.omg.org/spec/DD/20100524/DI"')


@dataclass(frozen=True)
class Step:
    """A user task ready for its department."""

    id: str  # the engine's task id (a UUID)
    spec: str  # the BPMN element id
    name: str
    lane: str | None


def review_flow(process_id: str, name: str, stages: list[list[tuple[str, str]]]) -> str:
    """A BPMN process of review stages: each stage a list of (lane, task name) reviewed in
    parallel; the next stage starts when every review of the one before has approved."""
    if not stages or not all(stages):
        raise ValueError("a flow needs at least one review")
    lanes = list(dict.fromkeys(lane for stage in stages for lane, _ in stage))
    nodes, flows, shapes, edges = [], [], [], []
    lane_y = {lane: 40 + 130 * n for n, lane in enumerate(lanes)}
    height = 130 * len(lanes)
    mid = 40 + height // 2

    def shape(node_id: str, x: int, y: int, w: int, h: int) -> None:
        shapes.append(f'<bpmndi:BPMNShape id="{node_id}_di" bpmnElement="{node_id}"><dc:Bounds x="{x}" y="{y}" '
                      f'width="{w}" height="{h}"/></bpmndi:BPMNShape>')

    def link(source: str, target: str, points: list[tuple[int, int]]) -> None:
        flow = f"flow_{len(flows) + 1}"
        flows.append(f'<bpmn:sequenceFlow id="{flow}" sourceRef="{source}" targetRef="{target}"/>')
        waypoints = "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in points)
        edges.append(f'<bpmndi:BPMNEdge id="{flow}_di" bpmnElement="{flow}">{waypoints}</bpmndi:BPMNEdge>')

    nodes.append('<bpmn:startEvent id="start" name="受理"/>')
    shape("start", 120, mid - 18, 36, 36)
    previous, out = ("start", (156, mid)), 200
    lane_nodes: dict[str, list[str]] = {lane: [] for lane in lanes}
    for number, stage in enumerate(stages, start=1):
        tasks = [(f"review_{number}_{k}", lane, title) for k, (lane, title) in enumerate(stage, start=1)]
        if len(tasks) > 1:
            split, join = f"split_{number}", f"join_{number}"
            nodes.append(f'<bpmn:parallelGateway id="{split}"/>')
            shape(split, out, mid - 25, 50, 50)
            link(previous[0], split, [previous[1], (out, mid)])
            source, tx = (split, (out + 25, mid)), out + 90
        else:
            source, tx = previous, out
        for task_id, lane, title in tasks:
            y = lane_y[lane] + 25
            nodes.append(f'<bpmn:userTask id="{task_id}" name={quoteattr(title)}/>')
            lane_nodes[lane].append(task_id)
            shape(task_id, tx, y, 100, 80)
            link(source[0], task_id, [source[1], (source[1][0], y + 40), (tx, y + 40)])
        if len(tasks) > 1:
            nodes.append(f'<bpmn:parallelGateway id="{join}"/>')
            jx = tx + 140
            shape(join, jx, mid - 25, 50, 50)
            for task_id, lane, _ in tasks:
                y = lane_y[lane] + 65
                link(task_id, join, [(tx + 100, y), (jx + 25, y), (jx + 25, mid)])
            previous, out = (join, (jx + 50, mid)), jx + 90
        else:
            task_id, lane, _ = tasks[0]
            previous, out = (task_id, (tx + 100, lane_y[lane] + 65)), tx + 140
    nodes.append('<bpmn:endEvent id="done" name="办结"/>')
    shape("done", out, mid - 18, 36, 36)
    link(previous[0], "done", [previous[1], (out, mid)])
    lane_xml = "".join(
        f'<bpmn:lane id="lane_{n}" name={quoteattr(lane)}>'
        + "".join(f"<bpmn:flowNodeRef>{t}</bpmn:flowNodeRef>" for t in lane_nodes[lane]) + "</bpmn:lane>"
        for n, lane in enumerate(lanes, start=1))
    lane_shapes = "".join(
        f'<bpmndi:BPMNShape id="lane_{n}_di" bpmnElement="lane_{n}" isHorizontal="true"><dc:Bounds x="80" '
        f'y="{lane_y[lane]}" width="{out + 80}" height="130"/></bpmndi:BPMNShape>' for n, lane in enumerate(lanes, 1))
    width = out + 110
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs_{process_id}" '
            f'targetNamespace="https://datong.example/bpmn">'
            f'<bpmn:collaboration id="collab"><bpmn:participant id="pool" name={quoteattr(name)} '
            f'processRef="{process_id}"/></bpmn:collaboration>'
            f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>'
            + "".join(nodes) + "".join(flows) + '</bpmn:process>'
            f'<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="collab">'
            f'<bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true"><dc:Bounds x="50" y="40" '
            f'width="{width}" height="{height}"/></bpmndi:BPMNShape>{lane_shapes}'
            + "".join(shapes) + "".join(edges) + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")


@lru_cache(maxsize=256)
def _parsed(xml: str):
    parser = BpmnParser()
    parser.add_bpmn_str(xml.encode())
    ids = parser.get_process_ids()
    executable = [i for i in ids if parser.get_process_parser(i).process_executable] or ids
    if len(executable) != 1:
        raise ValueError(f"one executable process expected, found {len(executable)}")
    return parser.get_spec(executable[0])


def parse(xml: str):
    """The process spec of a BPMN document, or InvalidInput saying what is wrong with it."""
    if len(xml.encode()) > MAX_FLOW:
        raise InvalidInput(field="flow", reason=Message(N_("a flow is at most {size} KB"), size=MAX_FLOW // 1024))
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:  # no entity expansion from an uploaded document
        raise InvalidInput(field="flow", reason=Message(N_("the BPMN flow cannot be read: {error}"),
                                                        error="DOCTYPE"))
    try:
        return _parsed(xml)
    except (ValidationException, ValueError, SyntaxError) as exc:
        raise InvalidInput(field="flow", reason=Message(N_("the BPMN flow cannot be read: {error}"),
                                                        error=str(exc).splitlines()[0][:300])) from exc
    except Exception as exc:
        raise InvalidInput(field="flow", reason=Message(N_("the BPMN flow cannot be read: {error}"),
                                                        error=type(exc).__name__)) from exc


def user_lanes(xml: str) -> dict[str, str | None]:
    """Every user task of the flow and the lane it sits in."""
    spec = parse(xml)
    return {name: task.lane for name, task in spec.task_specs.items() if isinstance(task, UserTask)}


def user_tasks(xml: str) -> list[tuple[str, str, str | None]]:
    """Every user task of the flow: its id, its name and its lane, in the document's order."""
    spec = parse(xml)
    return [(name, task.bpmn_name or name, task.lane) for name, task in spec.task_specs.items()
            if isinstance(task, UserTask)]


def start(xml: str) -> BpmnWorkflow:
    workflow = BpmnWorkflow(parse(xml))
    workflow.do_engine_steps()
    return workflow


def ready(workflow: BpmnWorkflow) -> list[Step]:
    return [Step(str(t.id), t.task_spec.name, t.task_spec.bpmn_name or t.task_spec.name, t.task_spec.lane)
            for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, UserTask)]


def complete(workflow: BpmnWorkflow, task_id: str, data: dict) -> None:
    """Complete a ready user task with ``data`` (what the reviewer decided), and run the engine on."""
    task = next((t for t in workflow.get_tasks(state=TaskState.READY) if str(t.id) == task_id), None)
    if task is None:
        raise KeyError(task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def finished(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def done_steps(workflow: BpmnWorkflow) -> list[str]:
    """The BPMN element ids the case has passed through (for the diagram)."""
    return [t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.name and not t.task_spec.name.startswith(("Start", "End")) and "." not in t.task_spec.name]


def dumps(workflow: BpmnWorkflow) -> str:
    return _SERIALIZER.serialize_json(workflow)


def loads(state: str) -> BpmnWorkflow:
    return _SERIALIZER.deserialize_json(state)
