// Small behaviours htmx does not cover: adding a blank data-item row to the resource form.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const body = document.querySelector(button.dataset.addRow).tBodies[0];
  const template = document.getElementById("item-row-template");
  body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__i__", String(body.rows.length)));
  body.rows[body.rows.length - 1].querySelector("input").focus();
});

// Charts: an element with data-chart ("lines" or "bars"), data-labels (the x axis), data-series
// ([[name, [values]], …], in the order to show) and data-translations ({name: label}) becomes an ECharts chart of scores.
// ECharts (1 MB) is fetched only by a page that draws a chart, once; its address comes from the
// <body data-echarts> attribute, versioned so that browsers may cache it for good.
let echartsLoading = null;
function withEcharts(then) {
  if (window.echarts) return then();
  if (!echartsLoading) {
    echartsLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = document.body.dataset.echarts;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }
  echartsLoading.then(then);
}

function drawCharts(root) {
  if (!root.querySelector("[data-chart]")) return;
  if (!window.echarts) return withEcharts(() => drawCharts(root));
  root.querySelectorAll("[data-chart]").forEach((element) => {
    if (element.dataset.drawn) return;
    element.dataset.drawn = "1";
    const labels = JSON.parse(element.dataset.labels);
    const series = JSON.parse(element.dataset.series);
    const names = JSON.parse(element.dataset.translations || "{}");
    const kind = element.dataset.chart === "bars" ? "bar" : "line";
    const chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => (v * 100).toFixed(1) + "%" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 48 },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => v * 100 + "%" } },
      series: series.map(([key, values]) => ({
        name: names[key] || key, type: kind, data: values, smooth: false,
        lineStyle: key === "overall" ? { width: 3 } : undefined,
      })),
    });
    window.addEventListener("resize", () => chart.resize());
  });
}
document.addEventListener("DOMContentLoaded", () => drawCharts(document));
document.addEventListener("htmx:afterSettle", (event) => drawCharts(event.target));

// A case's flow: an element with data-bpmn (the address of {bpmn, done, current}) and data-script
// (the vendored bpmn-js viewer, fetched only by a page that draws a flow) becomes the BPMN diagram,
// the steps passed marked done and the open ones marked current.
function drawFlows(root) {
  root.querySelectorAll("[data-bpmn]").forEach((element) => {
    if (element.dataset.drawn) return;
    element.dataset.drawn = "1";
    const draw = () => fetch(element.dataset.bpmn, { credentials: "same-origin" })
      .then((response) => response.json())
      .then(async (flow) => {
        const viewer = new window.BpmnJS({ container: element });
        await viewer.importXML(flow.bpmn);
        const canvas = viewer.get("canvas");
        const registry = viewer.get("elementRegistry");
        flow.done.forEach((id) => registry.get(id) && canvas.addMarker(id, "step-done"));
        flow.current.forEach((id) => registry.get(id) && canvas.addMarker(id, "step-current"));
        canvas.zoom("fit-viewport");
        element.dataset.current = flow.current.join(" ");
      })
      .catch(() => { element.textContent = element.dataset.failed || "—"; });
    if (window.BpmnJS) return draw();
    const script = document.createElement("script");
    script.src = element.dataset.script;
    script.onload = draw;
    document.head.appendChild(script);
  });
}
document.addEventListener("DOMContentLoaded", () => drawFlows(document));
