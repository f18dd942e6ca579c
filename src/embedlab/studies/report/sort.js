document.querySelectorAll('table.table').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.style.cursor = 'pointer';
    th.title = 'sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows), up = th.dataset.sorted !== 'up';
      rows.sort(function (a, b) {
        var x = a.cells[column].innerText, y = b.cells[column].innerText, u = parseFloat(x), v = parseFloat(y);
        var order = (isNaN(u) || isNaN(v)) ? x.localeCompare(y) : u - v;
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      th.dataset.sorted = up ? 'up' : 'down';
    });
  });
});
