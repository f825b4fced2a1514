const slider = document.getElementById("step");
const label = document.getElementById("step-label");
const snapshots = document.querySelectorAll(".snapshot");
function show(index) {
  snapshots.forEach((s, i) => { s.hidden = i !== index; });
  label.textContent = snapshots[index].dataset.caption;
}
slider.addEventListener("input", () => show(Number(slider.value)));
show(Number(slider.value));
