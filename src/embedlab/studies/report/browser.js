document.querySelectorAll('.browser').forEach(function (box) {
  var data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
  var input = box.querySelector('input'), out = box.querySelector('.answer');
  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function show() {
    var word = input.value.trim().toLowerCase();
    var entry = Object.prototype.hasOwnProperty.call(data.words, word) ? data.words[word] : undefined;
    out.replaceChildren();
    if (!entry) { out.textContent = word ? '"' + word + '" is not among the words this report indexed.' : ''; return; }
    var facts = [];
    if (entry.count !== undefined) facts.push('training count ' + entry.count);
    Object.keys(entry).filter(function (k) { return k.indexOf('log_odds_') === 0; }).forEach(function (k) {
      facts.push('log-odds class ' + k.slice(9) + ' ' + Number(entry[k]).toFixed(2));
    });
    var line = el('p'); line.appendChild(el('strong', word));
    if (facts.length) line.appendChild(document.createTextNode(': ' + facts.join(', ')));
    var scroll = el('div'), table = el('table'), head = el('thead'), headRow = el('tr'), body = el('tbody');
    scroll.className = 'scroll'; table.className = 'table neighbours';
    headRow.appendChild(el('th', 'rank'));
    data.spaces.forEach(function (s) { headRow.appendChild(el('th', s)); });
    for (var r = 0; r < 8; r++) {
      var row = el('tr'); row.appendChild(el('td', String(r + 1)));
      data.spaces.forEach(function (s) { var n = entry.neighbours[s] || []; row.appendChild(el('td', n[r] || '')); });
      body.appendChild(row);
    }
    head.appendChild(headRow); table.appendChild(head); table.appendChild(body); scroll.appendChild(table);
    out.appendChild(line); out.appendChild(scroll);
  }
  input.addEventListener('input', show);
  show();
});
