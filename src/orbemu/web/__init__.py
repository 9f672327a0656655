"""The web console: static files served by :mod:`orbemu.api` (``static/``).

``static/index.html``, ``app.js``, ``charts.js``, ``style.css`` — the console (globe, 2-D map,
time bar, contacts, events, charts); ``static/cesium/`` — the CesiumJS build (vendored from the
npm package ``cesium``, pinned; see ``tools/cesium/`` and docs/design.md, "Web console"). No
code here: the API reads these files as package data.
"""
