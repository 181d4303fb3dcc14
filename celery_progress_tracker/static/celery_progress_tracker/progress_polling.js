/*! celery-progress-tracker: ProgressPolling, a poller feeding themes. docs/javascript.md. MIT */
(function (root) {
  "use strict";

  var doc = root.document;
  var FINAL_STATUSES = ["completed", "failed", "cancelled"];

  // The most job_id values the list endpoint takes in one request.
  var MAX_IDS_PER_REQUEST = 100;

  // {% progress_polling_js %} adds the server's catalogue (the admin's words).
  var LABELS = {
    en: {
      title: "Progress",
      pending: "Pending",
      in_progress: "In progress",
      completed: "Completed",
      failed: "Failed",
      cancelled: "Cancelled",
      error: "Error",
      total: "Total",
      processed: "Processed",
      remaining: "Remaining",
      failedItems: "Failed",
      unknown: "?",
      waiting: "Waiting for the job to start…",
      connectionLost: "Connection lost, retrying…",
      notFound: "This job does not exist.",
      unauthorized: "Your session has expired: please log in again.",
      forbidden: "You are not allowed to see this job.",
      httpError: "The server refused the request",
      tooManyFailures: "The server cannot be reached.",
      jobFailed: "The job failed.",
      eta: "Time left: {time}",
      parts: "{done} of {total} parts done",
      logStart: "Starting polling for job",
      logData: "Data received:",
      logStop: "Polling stopped",
    },
    fr: {
      title: "Progression",
      pending: "En attente",
      in_progress: "En cours",
      completed: "Terminé",
      failed: "Échoué",
      cancelled: "Annulé",
      error: "Erreur",
      total: "Total",
      processed: "Traités",
      remaining: "Restants",
      failedItems: "En échec",
      unknown: "?",
      waiting: "En attente du démarrage de la tâche…",
      connectionLost: "Connexion perdue, nouvelle tentative…",
      notFound: "Cette tâche n'existe pas.",
      unauthorized: "Votre session a expiré : reconnectez-vous.",
      forbidden: "Vous n'avez pas accès à cette tâche.",
      httpError: "Le serveur a refusé la requête",
      tooManyFailures: "Le serveur est injoignable.",
      jobFailed: "La tâche a échoué.",
      eta: "Temps restant : {time}",
      parts: "{done} sur {total} parties terminées",
      logStart: "Démarrage du polling pour job",
      logData: "Données reçues:",
      logStop: "Arrêt du polling",
    },
  };

  var DEFAULTS = {
    pollInterval: 500,
    title: null,
    icon: "",
    showDetails: true,
    showStats: true,
    autoHideOnComplete: false,
    autoHideDelay: 3000,
    debug: false,
    segments: false,
    apiBase: "/core/sse-progress/",
    theme: null,
    locale: null,
    labels: null,
    notFoundGrace: 10000,
    maxNetworkFailures: 30,
    maxBackoff: 10000,
    requestTimeout: 15000,
    maxUrlLength: 2000,
    onStart: null,
    onProgress: null,
    onComplete: null,
    onError: null,
  };

  // What {% progress_polling_js %} wrote: {lang, labels, titles, theme, css}.
  var config = {};
  var configNode = doc && doc.getElementById("progress-polling-config");
  try {
    config = (configNode && JSON.parse(configNode.textContent)) || {};
  } catch (error) {
    config = {};
  }
  if (config.lang && config.labels) {
    var code = primary(config.lang);
    LABELS[code] = Object.assign({}, LABELS[code], config.labels);
  }
  // The stylesheet of the default theme sits next to this script.
  var script = doc && doc.currentScript;
  var cssUrl = config.css || (script && script.src ? script.src.replace(/[^/]*$/, "progress_polling.css") : "");

  // What onError receives (types: docs/javascript.md).
  class ProgressPollingError extends Error {
    constructor(type, message, status, data) {
      super(message);
      this.name = "ProgressPollingError";
      this.type = type;
      this.status = status === undefined ? null : status;
      this.data = data === undefined ? null : data;
    }
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function isFinal(status) {
    return FINAL_STATUSES.indexOf(status) !== -1;
  }

  function primary(lang) {
    return String(lang || "").toLowerCase().split("-")[0];
  }

  function pageLanguage() {
    return (doc && doc.documentElement.lang) || config.lang || "";
  }

  function resolveLabels(option, lang) {
    if (typeof option === "string" && LABELS[option]) {
      return Object.assign({}, LABELS.en, LABELS[option]);
    }
    var labels = Object.assign({}, LABELS.en, LABELS[primary(lang)]);
    return option && typeof option === "object" ? Object.assign(labels, option) : labels;
  }

  function numberFormat(locale) {
    var format;
    try {
      format = new Intl.NumberFormat(locale || undefined);
    } catch (error) {
      format = new Intl.NumberFormat(); // an invalid lang attribute
    }
    return function (value) {
      return format.format(typeof value === "number" && isFinite(value) ? value : 0);
    };
  }

  function formatSeconds(total, number) {
    var seconds = Math.max(0, Math.round(total));
    var minutes = Math.floor(seconds / 60);
    if (seconds < 60) {
      return number(seconds) + " s";
    }
    if (minutes < 60) {
      return number(minutes) + " min " + number(seconds % 60) + " s";
    }
    return number(Math.floor(minutes / 60)) + " h " + number(minutes % 60) + " min";
  }

  // "reports.tasks.crunch_numbers" -> "Crunch numbers", when nothing gives a title.
  function humanise(name) {
    var words = String(name || "")
      .split(".")
      .pop()
      .replace(/[_\s-]+/g, " ")
      .trim()
      .toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function el(tag, className, attributes) {
    var node = doc.createElement(tag);
    node.className = className.trim();
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  // Also through the CSSOM: Fomantic overrides `hidden`; a style attribute needs 'unsafe-inline'.
  function show(node, visible) {
    node.hidden = !visible;
    node.style.display = visible ? "" : "none";
  }

  function toNumber(name, value, minimum) {
    var number = Number(value);
    if (typeof value === "boolean" || value === null || value === "" || isNaN(number) || number < minimum) {
      throw new TypeError("ProgressPolling: option " + name + " must be a number >= " + minimum + ", got " + String(value));
    }
    return number;
  }

  function callSafely(callback, argument, self) {
    if (typeof callback !== "function") {
      return;
    }
    try {
      callback.call(self, argument);
    } catch (error) {
      // A broken callback must not stop the bar or the other bars.
      if (root.console) {
        root.console.error("[Polling] callback failed:", error);
      }
    }
  }

  // The smallest (pick: Math.min) or largest option among bars sharing a poll.
  function across(bars, name, pick) {
    return pick.apply(
      null,
      bars.map(function (bar) {
        return bar.options[name];
      })
    );
  }

  // -- the poller: one request per interval per API base ---------------------

  var schedulers = {};

  // Polls the bars of one API base together, in list requests under maxUrlLength.
  class Scheduler {
    constructor(apiBase) {
      this.apiBase = apiBase;
      this.bars = [];
      this.timer = null;
      this.inFlight = null;
      this.failures = 0;
      this.etags = {};
    }

    add(bar) {
      if (this.bars.indexOf(bar) === -1) {
        this.bars.push(bar);
      }
      // Bars created in one loop share the first request; a backoff is kept.
      if (!this.inFlight && (this.timer === null || !this.failures)) {
        this.schedule(0);
      }
    }

    remove(bar) {
      var index = this.bars.indexOf(bar);
      if (index !== -1) {
        this.bars.splice(index, 1);
      }
      if (!this.bars.length) {
        this.cancelTimer();
        this.failures = 0;
        if (this.inFlight) {
          this.inFlight.abort();
        }
      }
    }

    cancelTimer() {
      if (this.timer !== null) {
        root.clearTimeout(this.timer);
        this.timer = null;
      }
    }

    schedule(delay) {
      this.cancelTimer();
      if (!this.bars.length || doc.hidden) {
        return; // resumed by the visibilitychange listener
      }
      var self = this;
      this.timer = root.setTimeout(function () {
        self.timer = null;
        self.tick();
      }, delay);
    }

    wake() {
      if (!this.inFlight && this.bars.length) {
        this.schedule(0);
      }
    }

    backoff() {
      var delay = Math.min(
        across(this.bars, "maxBackoff", Math.min),
        across(this.bars, "pollInterval", Math.min) * Math.pow(2, this.failures)
      );
      // Jitter, so that many pages cut off together do not come back together.
      return Math.round(delay * (0.9 + Math.random() * 0.2));
    }

    async tick() {
      if (this.inFlight || !this.bars.length || doc.hidden) {
        return;
      }
      var bars = this.bars.slice();
      var ids = [];
      bars.forEach(function (bar) {
        if (ids.indexOf(bar.jobId) === -1) {
          ids.push(bar.jobId);
        }
      });
      var controller = new AbortController();
      var timedOut = false;
      var timeoutId = root.setTimeout(function () {
        timedOut = true;
        controller.abort();
      }, across(bars, "requestTimeout", Math.max));
      this.inFlight = controller;
      var outcome;
      try {
        outcome = await this.poll(ids, bars, controller.signal);
      } catch (error) {
        // Aborted by remove(): nothing to report.
        outcome = controller.signal.aborted && !timedOut ? null : { transient: error };
      } finally {
        root.clearTimeout(timeoutId);
        this.inFlight = null;
      }
      try {
        if (outcome) {
          this.deliver(bars, outcome);
        }
      } finally {
        if (this.bars.length) {
          this.schedule(this.failures ? this.backoff() : across(this.bars, "pollInterval", Math.min));
        }
      }
    }

    deliver(bars, outcome) {
      var self = this;
      this.failures = outcome.transient ? this.failures + 1 : 0;
      bars.forEach(function (bar) {
        if (self.bars.indexOf(bar) === -1) {
          return; // stopped meanwhile
        }
        try {
          if (outcome.transient) {
            bar.connectionProblem(outcome.transient);
          } else if (outcome.fatal) {
            bar.refused(outcome.fatal);
          } else if (has(outcome.jobs, bar.jobId)) {
            var job = outcome.jobs[bar.jobId];
            if (job === null) {
              bar.notFound();
            } else if (job === undefined) {
              bar.unchanged();
            } else {
              bar.receive(job);
            }
          }
        } catch (error) {
          // One broken bar must not starve the others sharing the request.
          if (root.console) {
            root.console.error("[Polling] cannot update the bar:", error);
          }
        }
      });
    }

    // -> {jobs: {id: data | null (404) | undefined (304)}} or {fatal}; rejects when transient.
    async poll(ids, bars, signal) {
      // A bar that has drawn nothing yet needs a full answer, not a 304.
      var drawn = function (id) {
        return bars.every(function (bar) {
          return bar.jobId !== id || bar.data !== null;
        });
      };
      if (ids.length === 1) {
        var one = await this.pollDetail(ids[0], drawn(ids[0]), signal);
        return one.fatal ? one : { jobs: { [ids[0]]: one.job } };
      }
      var jobs = {};
      var batches = this.batches(ids, across(bars, "maxUrlLength", Math.min));
      for (var i = 0; i < batches.length; i += 1) {
        var listed = await this.pollList(batches[i], batches[i].every(drawn), signal);
        if (listed.fatal) {
          return listed;
        }
        Object.assign(jobs, listed.jobs);
      }
      return { jobs: jobs };
    }

    batches(ids, maxLength) {
      var batches = [];
      var batch = [];
      var length = 0;
      var base = this.apiBase.length + 1;
      ids.forEach(function (id) {
        var part = ("job_id=" + encodeURIComponent(id)).length + 1;
        if (batch.length && (batch.length === MAX_IDS_PER_REQUEST || base + length + part > maxLength)) {
          batches.push(batch);
          batch = [];
          length = 0;
        }
        batch.push(id);
        length += part;
      });
      batches.push(batch);
      return batches;
    }

    async pollDetail(id, conditional, signal) {
      var response = await this.request(this.apiBase + encodeURIComponent(id) + "/", conditional, signal);
      if (response.status === 304) {
        return { job: undefined };
      }
      if (response.status === 404) {
        return { job: null };
      }
      if (!response.ok) {
        return { fatal: await describe(response) };
      }
      return { job: await readJson(response) };
    }

    async pollList(ids, conditional, signal) {
      var query = ids.map(function (id) {
        return "job_id=" + encodeURIComponent(id);
      });
      var response = await this.request(this.apiBase + "?" + query.join("&"), conditional, signal);
      if (response.status !== 304 && !response.ok) {
        return { fatal: await describe(response) };
      }
      // A ?job_id= lookup answers every job it finds in one page.
      var page = response.status === 304 ? { results: [] } : await readJson(response);
      if (!page || !Array.isArray(page.results)) {
        throw new Error("unexpected list response");
      }
      var jobs = {};
      page.results.forEach(function (job) {
        jobs[job && job.job_id] = job;
      });
      ids.forEach(function (id) {
        // undefined: unchanged (304); null: not (yet) there, the list's way of saying 404.
        jobs[id] = response.status === 304 ? undefined : has(jobs, id) ? jobs[id] : null;
      });
      return { jobs: jobs };
    }

    async request(url, conditional, signal) {
      var headers = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" };
      if (conditional && this.etags[url]) {
        headers["If-None-Match"] = this.etags[url];
      }
      var response = await root.fetch(url, {
        method: "GET",
        headers: headers,
        credentials: "same-origin",
        // Revalidated with our ETag: no stale body from the HTTP cache.
        cache: "no-store",
        signal: signal,
      });
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        throw new Error("HTTP " + response.status);
      }
      var etag = response.headers.get("ETag");
      if (response.ok && etag) {
        this.etags[url] = etag;
      } else if (response.status !== 304) {
        delete this.etags[url];
      }
      return response;
    }
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (error) {
      // An HTML page instead of JSON (a proxy error page...): retry later.
      throw new Error("response is not JSON");
    }
  }

  async function describe(response) {
    var body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { status: response.status, body: body };
  }

  function schedulerFor(apiBase) {
    if (!schedulers[apiBase]) {
      schedulers[apiBase] = new Scheduler(apiBase);
    }
    return schedulers[apiBase];
  }

  function wakeAll() {
    Object.keys(schedulers).forEach(function (key) {
      schedulers[key].wake();
    });
  }

  if (doc) {
    doc.addEventListener("visibilitychange", function () {
      if (!doc.hidden) {
        wakeAll();
      }
    });
  }
  if (root.addEventListener) {
    root.addEventListener("online", wakeAll);
  }

  // -- the themes: view -> markup ----------------------------------------------

  // A theme: function (container, view). The built-in ones share this builder; the
  // templates celery_progress_tracker/themes/*.html draw the same markup.
  function builtIn(name, classes, paint) {
    function part(key, tag, attributes) {
      return el(tag || "div", "progress-polling-" + key + " " + (classes[key] || ""), attributes);
    }

    function build(container, view) {
      var n = { theme: theme, stats: {} };
      n.root = el("div", "progress-polling progress-polling--" + name + " " + (classes.root || ""), {
        "data-job-id": view.jobId,
      });
      var header = part("header");
      if (view.icon) {
        var icon = part("icon", "span", { "aria-hidden": "true" });
        icon.textContent = view.icon + " ";
        header.appendChild(icon);
      }
      n.title = header.appendChild(part("title", "span"));
      header.appendChild(doc.createTextNode(" "));
      n.status = header.appendChild(part("status", "span"));
      n.eta = header.appendChild(part("eta", "span"));
      n.bar = part("bar", "div", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" });
      n.fill = n.bar.appendChild(part("fill"));
      n.percent = n.fill.appendChild(part("percent", classes.percentTag || "span"));
      n.counts = part("counts");
      n.segments = part("segments");
      n.stats.root = part("stats");
      view.stats.forEach(function (stat) {
        var item = part("stat");
        item.classList.add("progress-polling-" + stat.name);
        var value = item.appendChild(part("value"));
        item.appendChild(part("caption")).textContent = stat.label;
        n.stats.root.appendChild(item);
        n.stats[stat.name] = value;
      });
      n.message = part("message", "div", { role: "status", "aria-live": "polite" });
      n.connection = part("connection", "div", { role: "status", "aria-live": "polite" });
      n.error = part("error", "div", { role: "alert" });
      if (classes.countsInside) {
        n.bar.appendChild(n.counts); // Fomantic's label under the bar
      }
      [header, n.bar, n.segments, classes.countsInside ? null : n.counts, n.stats.root, n.message, n.connection, n.error].forEach(
        function (node) {
          if (node) {
            n.root.appendChild(node);
          }
        }
      );
      container.textContent = "";
      container.appendChild(n.root);
      return n;
    }

    function theme(container, view) {
      var n = container.progressPollingNodes;
      if (!n || n.theme !== theme || n.root.parentNode !== container) {
        n = container.progressPollingNodes = build(container, view);
      }
      n.root.setAttribute("data-status", view.status);
      n.root.classList.toggle("progress-polling-offline", view.offline);
      n.root.classList.toggle("progress-polling-indeterminate", view.indeterminate);
      n.title.textContent = view.title;
      n.status.textContent = view.label;
      n.eta.textContent = view.eta;
      show(n.eta, !!view.eta);
      n.bar.setAttribute("aria-label", view.title);
      n.bar.setAttribute("data-percent", String(view.percent));
      if (view.indeterminate) {
        n.bar.removeAttribute("aria-valuenow");
      } else {
        n.bar.setAttribute("aria-valuenow", String(view.percent));
      }
      n.fill.style.width = (view.indeterminate ? 100 : view.percent) + "%";
      n.percent.textContent = view.indeterminate ? "" : view.percent + "%";
      n.counts.textContent = view.counts;
      n.segments.textContent = "";
      (view.segments || []).forEach(function (part) {
        n.segments.appendChild(el("i", "", { "data-status": part.status }));
      });
      show(n.segments, !!view.segments);
      view.stats.forEach(function (stat) {
        n.stats[stat.name].textContent = stat.value;
        show(n.stats[stat.name].parentNode, !stat.hidden);
      });
      show(n.stats.root, view.showDetails);
      n.message.textContent = view.message;
      show(n.message, view.showMessage);
      n.connection.textContent = view.labels.connectionLost;
      show(n.connection, view.offline);
      n.error.textContent = view.error;
      show(n.error, !!view.error);
      if (paint) {
        paint(n, view);
      }
      show(n.root, !view.hidden);
    }
    return theme;
  }

  function swap(node, prefix, value) {
    Array.prototype.slice.call(node.classList).forEach(function (name) {
      if (name.indexOf(prefix) === 0) {
        node.classList.remove(name);
      }
    });
    node.classList.add(prefix + value);
  }

  // Colours by status in Fomantic's and Bootstrap's names.
  var SEMANTIC_COLOURS = { in_progress: "blue", completed: "green", failed: "red", error: "red" };
  var BOOTSTRAP_COLOURS = { in_progress: "primary", completed: "success", failed: "danger", error: "danger" };

  var themes = {
    // progress_polling.css, coloured by data-status.
    default: builtIn("default", {}),

    bootstrap5: builtIn(
      "bootstrap5",
      {
        root: "card card-body mb-3",
        header: "d-flex flex-wrap align-items-center gap-2 mb-2",
        title: "fw-semibold",
        status: "badge",
        eta: "badge text-bg-light border",
        bar: "progress",
        fill: "progress-bar",
        counts: "small text-body-secondary mt-1",
        stats: "d-flex flex-wrap column-gap-4 row-gap-1 mt-2",
        value: "fs-5 fw-semibold",
        caption: "small text-body-secondary text-uppercase",
        message: "alert alert-info py-2 mt-2 mb-0",
        connection: "alert alert-warning py-2 mt-2 mb-0",
        error: "alert alert-danger py-2 mt-2 mb-0",
      },
      function (n, view) {
        var colour = BOOTSTRAP_COLOURS[view.status] || "secondary";
        swap(n.status, "text-bg-", colour);
        swap(n.fill, "bg-", colour);
        n.fill.classList.toggle("progress-bar-striped", view.running);
        n.fill.classList.toggle("progress-bar-animated", view.running);
      }
    ),

    // The original system's Fomantic-UI / Semantic UI markup.
    semantic: builtIn(
      "semantic",
      {
        root: "ui segment",
        header: "ui small header",
        status: "ui small label",
        eta: "ui small basic label",
        bar: "ui progress",
        fill: "bar",
        percent: "progress",
        percentTag: "div",
        counts: "label",
        countsInside: true,
        stats: "ui mini four stackable statistics",
        stat: "statistic",
        value: "value",
        caption: "label",
        message: "ui info message",
        connection: "ui warning message",
        error: "ui negative message",
      },
      function (n, view) {
        var colour = SEMANTIC_COLOURS[view.status] || "grey";
        [n.status, n.bar].forEach(function (node) {
          ["grey", "blue", "green", "red"].forEach(function (name) {
            node.classList.toggle(name, name === colour);
          });
        });
        n.bar.classList.toggle("active", view.running && !view.indeterminate);
        n.bar.classList.toggle("indeterminate", view.indeterminate);
        n.bar.classList.toggle("success", view.status === "completed");
        n.bar.classList.toggle("error", view.status === "failed" || view.status === "error");
      }
    ),
  };

  function injectStylesheet() {
    if (!cssUrl || injectStylesheet.done) {
      return;
    }
    injectStylesheet.done = true;
    var href = new URL(cssUrl, doc.baseURI).href;
    var present = Array.prototype.some.call(doc.querySelectorAll("link[rel~=stylesheet]"), function (link) {
      return link.href === href || link.hasAttribute("data-progress-polling");
    });
    if (!present) {
      doc.head.appendChild(el("link", "", { rel: "stylesheet", href: cssUrl, "data-progress-polling": "" }));
    }
  }

  // "auto": the page's framework (Bootstrap's variables, Fomantic's .ui.progress), else default.
  var detected = null;
  function detectTheme() {
    if (!detected) {
      var probe = doc.body.appendChild(el("div", "ui progress", { hidden: "" }));
      var semantic = root.getComputedStyle(probe).position === "relative";
      doc.body.removeChild(probe);
      detected = root.getComputedStyle(doc.documentElement).getPropertyValue("--bs-blue")
        ? "bootstrap5"
        : semantic
          ? "semantic"
          : "default";
    }
    return detected;
  }

  function themeFor(option) {
    var choice = option || config.theme || "auto";
    if (typeof choice === "function") {
      return choice;
    }
    var theme = themes[choice === "auto" ? detectTheme() : choice];
    if (!theme) {
      throw new TypeError("ProgressPolling: unknown theme " + JSON.stringify(String(choice)));
    }
    if (theme === themes.default) {
      injectStylesheet();
    }
    return theme;
  }

  // -- the bar -----------------------------------------------------------------

  class ProgressPolling {
    constructor(containerId, jobId, options) {
      var container = typeof containerId === "string" ? doc.getElementById(containerId) : containerId;
      if (!container || container.nodeType !== 1) {
        throw new Error("ProgressPolling: no element with id " + JSON.stringify(String(containerId)));
      }
      if (typeof jobId !== "string" && typeof jobId !== "number") {
        throw new TypeError("ProgressPolling: jobId must be a string, got " + typeof jobId);
      }
      jobId = String(jobId).trim();
      if (!jobId) {
        throw new TypeError("ProgressPolling: jobId is empty");
      }
      this.options = Object.assign({}, DEFAULTS, options || {});
      var opts = this.options;
      opts.pollInterval = toNumber("pollInterval", opts.pollInterval, 50);
      opts.autoHideDelay = toNumber("autoHideDelay", opts.autoHideDelay, 0);
      opts.notFoundGrace = toNumber("notFoundGrace", opts.notFoundGrace, 0);
      opts.maxNetworkFailures = toNumber("maxNetworkFailures", opts.maxNetworkFailures, 1);
      // Backing off never polls faster than the normal pace.
      opts.maxBackoff = Math.max(opts.pollInterval, toNumber("maxBackoff", opts.maxBackoff, 0));
      opts.requestTimeout = toNumber("requestTimeout", opts.requestTimeout, 100);
      opts.maxUrlLength = toNumber("maxUrlLength", opts.maxUrlLength, 100);
      opts.apiBase = String(opts.apiBase || DEFAULTS.apiBase).replace(/\/?$/, "/");
      this.theme = themeFor(opts.theme);

      if (container.progressPolling && container.progressPolling !== this) {
        container.progressPolling.stop(); // a new job drawn in the same place
      }
      container.progressPolling = this;

      this.container = container;
      this.jobId = jobId;
      var lang = opts.locale || pageLanguage();
      this.labels = resolveLabels(opts.labels, lang);
      this.number = numberFormat(lang);
      this.data = null;
      this.error = null;
      this.waiting = false;
      this.offline = false;
      this.hidden = false;
      this.state = "idle"; // idle | polling | stopped | finished
      this.failures = 0;
      this.startedAt = Date.now();
      this.completeFired = false;
      this.scheduler = schedulerFor(opts.apiBase);
      this.draw();
      this.start();
    }

    start() {
      if (this.state === "polling" || this.state === "finished") {
        return;
      }
      this.state = "polling";
      this.log(this.labels.logStart + " " + this.jobId);
      this.scheduler.add(this);
    }

    stop() {
      if (this.state !== "polling") {
        return;
      }
      this.state = "stopped";
      this.scheduler.remove(this);
      this.log(this.labels.logStop);
    }

    log(message, data) {
      if (this.options.debug && root.console) {
        root.console.log.apply(root.console, ["[Polling] " + message].concat(data === undefined ? [] : [data]));
      }
    }

    emit(name, detail) {
      this.container.dispatchEvent(new root.CustomEvent("progress-polling:" + name, { bubbles: true, detail: detail }));
    }

    // What the theme draws, formatted in the page's language.
    view() {
      var data = this.data || {};
      var labels = this.labels;
      var number = this.number;
      var status = this.error ? "error" : String(data.status || "pending");
      var total = Number(data.total_items) || 0;
      var processed = Number(data.processed_items) || 0;
      var failed = Number(data.failed_items) || 0;
      var running = status === "in_progress";
      var message = this.waiting ? labels.waiting : typeof data.current_message === "string" ? data.current_message : "";
      var eta = data.eta_seconds;
      var title =
        this.options.title || data.title || (config.titles || {})[data.task_type] || humanise(data.task_type) || labels.title;
      return {
        jobId: this.jobId,
        status: status,
        label: labels[status] || status,
        title: String(title),
        icon: this.options.icon ? String(this.options.icon) : "",
        percent: Math.max(0, Math.min(100, Math.floor(Number(data.progress_percentage) || 0))),
        running: running,
        indeterminate: running && !total && !data.parts_done,
        counts:
          (total ? number(processed + failed) + " / " + number(total) : number(processed + failed)) +
          (data.parts_total ? " · " + labels.parts.replace("{done}", number(data.parts_done)).replace("{total}", number(data.parts_total)) : ""),
        segments: this.options.segments && data.members,
        stats: [
          { name: "total", label: labels.total, value: total ? number(total) : labels.unknown },
          { name: "processed", label: labels.processed, value: number(processed) },
          {
            name: "remaining",
            label: labels.remaining,
            value: total ? number(Math.max(0, total - processed - failed)) : labels.unknown,
          },
          { name: "failed", label: labels.failedItems, value: number(failed), hidden: !failed },
        ],
        showDetails: !!this.options.showDetails,
        eta: running && typeof eta === "number" && isFinite(eta) ? labels.eta.replace("{time}", formatSeconds(eta, number)) : "",
        message: message,
        showMessage: !!(this.options.showStats && message),
        error: this.error ? this.error.message : status === "failed" ? String(data.error || labels.jobFailed) : "",
        offline: this.offline,
        hidden: this.hidden,
        labels: labels,
        data: this.data,
      };
    }

    draw() {
      this.theme(this.container, this.view());
    }

    receive(data) {
      if (this.state !== "polling") {
        return;
      }
      this.failures = 0;
      var first = this.data === null;
      this.data = data;
      this.waiting = this.offline = false;
      this.log(this.labels.logData, data);
      this.draw();
      if (first) {
        callSafely(this.options.onStart, data, this);
        this.emit("start", data);
      }
      callSafely(this.options.onProgress, data, this);
      this.emit("progress", data);
      if (isFinal(data.status)) {
        this.finish(data);
      }
    }

    unchanged() {
      this.failures = 0;
      this.setOffline(false);
    }

    notFound() {
      this.failures = 0;
      if (Date.now() - this.startedAt < this.options.notFoundGrace) {
        // The row is created when the task starts: not an error yet.
        this.waiting = true;
        this.offline = false;
        this.draw();
        return;
      }
      this.fail(new ProgressPollingError("not_found", this.labels.notFound, 404, this.data));
    }

    refused(fatal) {
      var type = { 401: "unauthorized", 403: "forbidden" }[fatal.status] || "http";
      var message = this.labels[type === "http" ? "httpError" : type];
      if (type === "http") {
        var detail = fatal.body && typeof fatal.body.message === "string" ? fatal.body.message : "";
        message += " (HTTP " + fatal.status + (detail ? ": " + detail : "") + ")";
      }
      this.fail(new ProgressPollingError(type, message, fatal.status, this.data));
    }

    connectionProblem(error) {
      this.failures += 1;
      this.log("request failed (" + this.failures + "): " + error.message);
      if (this.failures >= this.options.maxNetworkFailures) {
        this.fail(new ProgressPollingError("network", this.labels.tooManyFailures, null, this.data));
        return;
      }
      this.setOffline(true);
    }

    setOffline(offline) {
      if (this.offline !== offline) {
        this.offline = offline;
        this.draw();
      }
    }

    end() {
      this.state = "finished";
      this.scheduler.remove(this);
      this.log(this.labels.logStop);
    }

    finish(data) {
      this.end();
      if (data.status === "completed") {
        if (!this.completeFired) {
          this.completeFired = true;
          callSafely(this.options.onComplete, data, this);
          this.emit("complete", data);
        }
        if (this.options.autoHideOnComplete) {
          var self = this;
          root.setTimeout(function () {
            self.hidden = true;
            self.draw();
          }, this.options.autoHideDelay);
        }
        return;
      }
      var type = data.status === "failed" ? "failed" : "cancelled";
      var message = data.error || (type === "failed" ? this.labels.jobFailed : this.labels.cancelled);
      this.reportError(new ProgressPollingError(type, message, null, data));
    }

    fail(error) {
      this.end();
      this.error = error;
      this.waiting = this.offline = false;
      this.draw();
      this.reportError(error);
    }

    reportError(error) {
      callSafely(this.options.onError, error, this);
      this.emit("error", error);
    }

    // A bar in each element under scope with data-progress-job-id and no bar yet.
    static initAll(scope) {
      var base = scope || doc;
      var found = Array.prototype.slice.call(base.querySelectorAll("[data-progress-job-id]"));
      if (base.nodeType === 1 && base.hasAttribute("data-progress-job-id")) {
        found.unshift(base);
      }
      var started = [];
      found.forEach(function (node) {
        if (node.progressPolling) {
          return;
        }
        try {
          started.push(new ProgressPolling(node, node.getAttribute("data-progress-job-id"), optionsFrom(node)));
        } catch (error) {
          if (root.console) {
            root.console.error("[Polling] cannot start the bar:", error);
          }
        }
      });
      return started;
    }

    // Bars for the user's running jobs (after a reload, in a second tab): see the docs.
    static async restore(settings) {
      var opts = settings || {};
      var apiBase = String(opts.apiBase || DEFAULTS.apiBase).replace(/\/?$/, "/");
      var query = [].concat(opts.taskType || []).map(function (name) {
        return "&task_type=" + encodeURIComponent(name);
      });
      var url = apiBase + "active/?page_size=100" + query.join("");
      var jobs = [];
      for (var pages = 0; url && pages < 20; pages += 1) {
        var response = await root.fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) {
          throw new ProgressPollingError("http", "HTTP " + response.status, response.status, null);
        }
        var page = await response.json();
        jobs = jobs.concat(page.results || []);
        url = page.next || null;
      }
      var wanted = opts.metadata || {};
      var matches = typeof wanted === "function" ? wanted : function (job) {
        return Object.keys(wanted).every(function (key) {
          return job.metadata && job.metadata[key] === wanted[key];
        });
      };
      var bars = [];
      jobs.filter(matches).forEach(function (job) {
        // One container for all (a <div> per job is added), or one per job.
        var shared = typeof opts.container !== "function";
        var place = shared ? opts.container : opts.container(job);
        place = typeof place === "string" ? doc.getElementById(place) : place;
        var drawn = (place ? (shared ? Array.prototype.slice.call(place.children) : [place]) : []).some(function (node) {
          return node.progressPolling && node.progressPolling.jobId === job.job_id;
        });
        if (!place || drawn) {
          return;
        }
        if (shared) {
          place = place.appendChild(el("div", "progress-polling-container"));
        }
        var options = typeof opts.options === "function" ? opts.options(job) : opts.options;
        var bar = new ProgressPolling(place, job.job_id, Object.assign({}, options, { apiBase: apiBase }));
        bar.receive(job);
        bars.push(bar);
      });
      return bars;
    }
  }

  // data-progress-poll-interval="200" -> {pollInterval: 200}
  function optionsFrom(node) {
    var options = {};
    Array.prototype.forEach.call(node.attributes, function (attribute) {
      var key = (/^data-progress-(.+)/.exec(attribute.name) || [])[1];
      var name = key === "auto-hide" ? "autoHideOnComplete" : String(key).replace(/-(.)/g, function (match, letter) {
        return letter.toUpperCase();
      });
      var raw = attribute.value;
      if (!key || !(name in DEFAULTS) || /^on[A-Z]/.test(name)) {
        return;
      }
      var kind = typeof DEFAULTS[name];
      options[name] =
        kind === "boolean" ? raw === "" || raw === "true" || raw === "1" : kind === "number" && raw !== "" ? Number(raw) : raw;
    });
    return options;
  }

  ProgressPolling.Error = ProgressPollingError;
  ProgressPolling.LABELS = LABELS;
  ProgressPolling.DEFAULTS = DEFAULTS;
  ProgressPolling.themes = themes;
  ProgressPolling.humanise = humanise;

  root.ProgressPolling = ProgressPolling;
  if (typeof module === "object" && module.exports) {
    module.exports = ProgressPolling;
  }

  if (doc) {
    if (doc.readyState === "loading") {
      doc.addEventListener("DOMContentLoaded", function () {
        ProgressPolling.initAll();
      });
    } else {
      ProgressPolling.initAll();
    }
  }
})(typeof window !== "undefined" ? window : this);
