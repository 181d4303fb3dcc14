/*!
 * celery-progress-tracker: ProgressPolling, a live progress bar for Celery jobs.
 *
 *   new ProgressPolling(containerId, jobId, options)
 *
 * Polls the package's JSON API (default /core/sse-progress/<job_id>/) and draws
 * Semantic UI / Fomantic-UI markup. Plain ES2017, no dependencies, no build step.
 * Elements carrying data-progress-job-id (the {% progress_bar %} template tag)
 * are started on DOMContentLoaded, so pages need no inline script.
 * Documentation: docs/javascript.md. License: MIT.
 */
(function (root) {
  "use strict";

  var FINAL_STATUSES = ["completed", "failed", "cancelled"];

  // The most job_id values the list endpoint takes in one request.
  var MAX_IDS_PER_REQUEST = 100;

  // Colours of the status label and the bar, by job status.
  var STATUS_COLOURS = {
    pending: "grey",
    in_progress: "blue",
    completed: "green",
    failed: "red",
    cancelled: "grey",
  };

  var LABELS = {
    en: {
      title: "Progress",
      pending: "Pending",
      in_progress: "Running",
      completed: "Completed",
      failed: "Failed",
      cancelled: "Cancelled",
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
      logStart: "Starting polling for job",
      logData: "Data received:",
      logStop: "Polling stopped",
    },
    fr: {
      title: "Progression",
      pending: "En attente",
      in_progress: "En cours",
      completed: "Terminé",
      failed: "Erreur",
      cancelled: "Annulé",
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
    apiBase: "/core/sse-progress/",
    labels: null,
    notFoundGrace: 10000,
    maxNetworkFailures: 30,
    maxBackoff: 10000,
    requestTimeout: 15000,
    onStart: null,
    onProgress: null,
    onComplete: null,
    onError: null,
  };

  /**
   * What onError receives: a real Error with the reason in `type`.
   *
   * type: "failed" | "cancelled" | "not_found" | "unauthorized" | "forbidden"
   *       | "http" | "network"; status: the HTTP status or null; data: the
   *       job's last JSON or null.
   */
  class ProgressPollingError extends Error {
    constructor(type, message, status, data) {
      super(message);
      this.name = "ProgressPollingError";
      this.type = type;
      this.status = status === undefined ? null : status;
      this.data = data === undefined ? null : data;
    }
  }

  // -- helpers ---------------------------------------------------------------

  function isFinal(status) {
    return FINAL_STATUSES.indexOf(status) !== -1;
  }

  function pickLanguage() {
    var lang = (root.document && root.document.documentElement.lang) || "en";
    lang = lang.toLowerCase().split("-")[0];
    return LABELS[lang] ? lang : "en";
  }

  function resolveLabels(option) {
    if (typeof option === "string" && LABELS[option]) {
      return Object.assign({}, LABELS[option]);
    }
    var base = Object.assign({}, LABELS[pickLanguage()]);
    if (option && typeof option === "object") {
      return Object.assign(base, option);
    }
    return base;
  }

  function el(tag, className, attributes) {
    var node = root.document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (attributes) {
      Object.keys(attributes).forEach(function (name) {
        node.setAttribute(name, attributes[name]);
      });
    }
    return node;
  }

  // Shown/hidden through the CSSOM as well: Fomantic's display rules would
  // override the `hidden` attribute, and a style attribute would need
  // 'unsafe-inline' under a strict CSP.
  function show(node, visible) {
    node.hidden = !visible;
    node.style.display = visible ? "" : "none";
  }

  function setColour(node, colour) {
    Object.keys(STATUS_COLOURS).forEach(function (status) {
      node.classList.remove(STATUS_COLOURS[status]);
    });
    node.classList.add(colour);
  }

  function formatNumber(value) {
    return typeof value === "number" && isFinite(value) ? value.toLocaleString() : "0";
  }

  function formatSeconds(total) {
    var seconds = Math.max(0, Math.round(total));
    if (seconds < 60) {
      return seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min " + (seconds % 60) + " s";
    }
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
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

  // -- the shared scheduler: one request per interval per API base ------------

  var schedulers = {};

  /**
   * Polls every bar of one API base with a single request per interval: the
   * detail URL for one job, the list URL with ?job_id=a&job_id=b for several.
   */
  class Scheduler {
    constructor(apiBase) {
      this.apiBase = apiBase;
      this.bars = [];
      this.timer = null;
      this.inFlight = null;
      this.failures = 0;
      this.etags = {};
      this.useList = true;
    }

    add(bar) {
      if (this.bars.indexOf(bar) === -1) {
        this.bars.push(bar);
      }
      // Bars created in one loop coalesce into the same first request; a
      // pending backoff is kept.
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
      if (!this.bars.length || root.document.hidden) {
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

    interval() {
      return Math.min.apply(
        null,
        this.bars.map(function (bar) {
          return bar.options.pollInterval;
        })
      );
    }

    backoff() {
      var cap = Math.min.apply(
        null,
        this.bars.map(function (bar) {
          return bar.options.maxBackoff;
        })
      );
      var delay = Math.min(cap, this.interval() * Math.pow(2, this.failures));
      // Jitter, so that many pages cut off together do not come back together.
      return Math.round(delay * (0.9 + Math.random() * 0.2));
    }

    async tick() {
      if (this.inFlight || !this.bars.length || root.document.hidden) {
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
      var timeout = Math.max.apply(
        null,
        bars.map(function (bar) {
          return bar.options.requestTimeout;
        })
      );
      var timedOut = false;
      var timeoutId = root.setTimeout(function () {
        timedOut = true;
        controller.abort();
      }, timeout);
      this.inFlight = controller;
      var outcome;
      try {
        outcome = await this.poll(ids, bars, controller.signal);
      } catch (error) {
        if (controller.signal.aborted && !timedOut) {
          outcome = null; // removed while the request ran: nothing to report
        } else {
          outcome = { transient: error };
        }
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
          this.schedule(this.failures ? this.backoff() : this.interval());
        }
      }
    }

    deliver(bars, outcome) {
      var self = this;
      if (outcome.transient) {
        this.failures += 1;
        bars.forEach(function (bar) {
          if (self.bars.indexOf(bar) !== -1) {
            bar.connectionProblem(outcome.transient);
          }
        });
        return;
      }
      this.failures = 0;
      bars.forEach(function (bar) {
        if (self.bars.indexOf(bar) === -1) {
          return; // stopped meanwhile
        }
        try {
          if (outcome.fatal) {
            bar.refused(outcome.fatal);
          } else if (Object.prototype.hasOwnProperty.call(outcome.jobs, bar.jobId)) {
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

    // Resolves to {jobs: {id: data | null (404) | undefined (304)}} or
    // {fatal: {status, body}}; rejects on network errors, 5xx and timeouts.
    async poll(ids, bars, signal) {
      // A bar that has drawn nothing yet needs a full answer, not a 304.
      var drawn = function (id) {
        return bars.every(function (bar) {
          return bar.jobId !== id || bar.data !== null;
        });
      };
      if (ids.length > 1 && this.useList) {
        var listed = await this.pollList(ids, ids.every(drawn), signal);
        if (listed) {
          return listed;
        }
        this.useList = false; // the server has no list endpoint: ask one by one
      }
      var self = this;
      var results = await Promise.all(
        ids.map(function (id) {
          return self.pollDetail(id, drawn(id), signal);
        })
      );
      var jobs = {};
      for (var i = 0; i < results.length; i += 1) {
        if (results[i].fatal) {
          return results[i];
        }
        jobs[ids[i]] = results[i].job;
      }
      return { jobs: jobs };
    }

    async pollDetail(id, conditional, signal) {
      var url = this.apiBase + encodeURIComponent(id) + "/";
      var response = await this.request(url, conditional, signal);
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
      var jobs = {};
      for (var offset = 0; offset < ids.length; offset += MAX_IDS_PER_REQUEST) {
        var chunk = ids.slice(offset, offset + MAX_IDS_PER_REQUEST);
        var result = await this.pollListChunk(chunk, conditional, signal);
        if (!result || result.fatal) {
          return result;
        }
        Object.assign(jobs, result.jobs);
      }
      return { jobs: jobs };
    }

    async pollListChunk(ids, conditional, signal) {
      var query = ids
        .map(function (id) {
          return "job_id=" + encodeURIComponent(id);
        })
        .join("&");
      var url = this.apiBase + "?" + query;
      var jobs = {};
      var pages = 0;
      var unchanged = false;
      while (url && pages < 50) {
        pages += 1;
        var response = await this.request(url, conditional && pages === 1, signal);
        if (response.status === 304 && pages === 1) {
          unchanged = true;
          break;
        }
        if (response.status === 404 && pages === 1) {
          return null;
        }
        if (!response.ok) {
          return { fatal: await describe(response) };
        }
        var page = await readJson(response);
        if (!page || !Array.isArray(page.results)) {
          throw new Error("unexpected list response");
        }
        page.results.forEach(function (job) {
          if (job && typeof job.job_id === "string") {
            jobs[job.job_id] = job;
          }
        });
        url = typeof page.next === "string" && page.next ? page.next : null;
      }
      ids.forEach(function (id) {
        if (unchanged) {
          jobs[id] = undefined;
        } else if (!Object.prototype.hasOwnProperty.call(jobs, id)) {
          jobs[id] = null; // not (yet) there: the list's way of saying 404
        }
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
        // We revalidate ourselves with the ETag; the HTTP cache must not
        // answer in our place with a stale body.
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

  if (root.document) {
    root.document.addEventListener("visibilitychange", function () {
      if (!root.document.hidden) {
        wakeAll();
      }
    });
  }
  if (root.addEventListener) {
    root.addEventListener("online", wakeAll);
  }

  // -- the bar -----------------------------------------------------------------

  /**
   * A live progress bar for one job.
   *
   * @param {string|Element} containerId the id of the element to draw into (or the element)
   * @param {string} jobId the job id (the Celery task id)
   * @param {object} [options] see docs/javascript.md
   */
  class ProgressPolling {
    constructor(containerId, jobId, options) {
      var container =
        typeof containerId === "string" ? root.document.getElementById(containerId) : containerId;
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
      opts.apiBase = String(opts.apiBase || DEFAULTS.apiBase);
      if (opts.apiBase.charAt(opts.apiBase.length - 1) !== "/") {
        opts.apiBase += "/";
      }

      if (container.progressPolling && container.progressPolling !== this) {
        container.progressPolling.stop(); // a new job drawn in the same place
      }
      container.progressPolling = this;

      this.container = container;
      this.jobId = jobId;
      this.labels = resolveLabels(opts.labels);
      this.data = null;
      this.state = "idle"; // idle | polling | stopped | finished
      this.failures = 0;
      this.startedAt = Date.now();
      this.completeFired = false;
      this.hideTimer = null;
      this.scheduler = schedulerFor(opts.apiBase);
      this.render();
      this.start();
    }

    /** Start (or resume after stop()) polling; no effect once the job is over. */
    start() {
      if (this.state === "polling" || this.state === "finished") {
        return;
      }
      this.state = "polling";
      this.log(this.labels.logStart + " " + this.jobId);
      this.scheduler.add(this);
    }

    /** Stop polling; the bar keeps what it shows. start() resumes. */
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
        if (data === undefined) {
          root.console.log("[Polling] " + message);
        } else {
          root.console.log("[Polling] " + message, data);
        }
      }
    }

    emit(name, detail) {
      var event;
      try {
        event = new root.CustomEvent("progress-polling:" + name, { bubbles: true, detail: detail });
      } catch (error) {
        return;
      }
      this.container.dispatchEvent(event);
    }

    // -- what the scheduler reports ------------------------------------------

    receive(data) {
      if (this.state !== "polling") {
        return;
      }
      this.failures = 0;
      var first = this.data === null;
      this.data = data;
      this.log(this.labels.logData, data);
      this.update(data);
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
      this.showConnectionLost(false);
    }

    notFound() {
      this.failures = 0;
      this.showConnectionLost(false);
      if (Date.now() - this.startedAt < this.options.notFoundGrace) {
        this.nodes.message.textContent = this.labels.waiting;
        show(this.nodes.message, this.options.showStats);
        return; // the row is created when the task starts: not an error yet
      }
      this.fail(new ProgressPollingError("not_found", this.labels.notFound, 404, this.data));
    }

    refused(fatal) {
      var type = fatal.status === 401 ? "unauthorized" : fatal.status === 403 ? "forbidden" : "http";
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
      this.showConnectionLost(true);
    }

    // -- endings ---------------------------------------------------------------

    finish(data) {
      this.state = "finished";
      this.scheduler.remove(this);
      this.log(this.labels.logStop);
      if (data.status === "completed") {
        if (!this.completeFired) {
          this.completeFired = true;
          callSafely(this.options.onComplete, data, this);
          this.emit("complete", data);
        }
        if (this.options.autoHideOnComplete) {
          var self = this;
          this.hideTimer = root.setTimeout(function () {
            show(self.nodes.root, false);
          }, this.options.autoHideDelay);
        }
        return;
      }
      var type = data.status === "failed" ? "failed" : "cancelled";
      var message = data.error || (type === "failed" ? this.labels.jobFailed : this.labels.cancelled);
      this.reportError(new ProgressPollingError(type, message, null, data));
    }

    fail(error) {
      this.state = "finished";
      this.scheduler.remove(this);
      this.log(this.labels.logStop);
      this.showConnectionLost(false);
      this.nodes.root.setAttribute("data-status", "error");
      this.nodes.status.textContent = this.labels.failed;
      setColour(this.nodes.status, "red");
      setColour(this.nodes.bar, "red");
      this.nodes.bar.classList.remove("active", "indeterminate");
      this.nodes.error.textContent = error.message;
      show(this.nodes.error, true);
      this.reportError(error);
    }

    reportError(error) {
      callSafely(this.options.onError, error, this);
      this.emit("error", error);
    }

    // -- drawing (server text only ever goes through textContent) ---------------

    render() {
      var labels = this.labels;
      var nodes = {};
      nodes.root = el("div", "ui segment progress-polling", {
        "data-job-id": this.jobId,
        "data-status": "pending",
      });

      var header = el("div", "ui small header progress-polling-header");
      if (this.options.icon) {
        var icon = el("span", "progress-polling-icon", { "aria-hidden": "true" });
        icon.textContent = String(this.options.icon) + " ";
        header.appendChild(icon);
      }
      nodes.title = el("span", "progress-polling-title");
      nodes.title.textContent = this.options.title || labels.title;
      header.appendChild(nodes.title);
      header.appendChild(root.document.createTextNode(" "));
      nodes.status = el("span", "ui small grey label progress-polling-status");
      nodes.status.textContent = labels.pending;
      header.appendChild(nodes.status);
      nodes.eta = el("span", "ui small basic label progress-polling-eta");
      show(nodes.eta, false);
      header.appendChild(nodes.eta);
      nodes.root.appendChild(header);

      nodes.bar = el("div", "ui grey progress progress-polling-bar", {
        role: "progressbar",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": "0",
        "aria-label": nodes.title.textContent,
        "data-percent": "0",
      });
      nodes.fill = el("div", "bar");
      nodes.percent = el("div", "progress");
      nodes.percent.textContent = "0%";
      nodes.fill.appendChild(nodes.percent);
      nodes.bar.appendChild(nodes.fill);
      nodes.counts = el("div", "label progress-polling-counts");
      nodes.bar.appendChild(nodes.counts);
      nodes.root.appendChild(nodes.bar);

      nodes.stats = el("div", "ui mini four statistics progress-polling-stats");
      nodes.total = this.statistic(nodes.stats, labels.total, "total");
      nodes.processed = this.statistic(nodes.stats, labels.processed, "processed");
      nodes.remaining = this.statistic(nodes.stats, labels.remaining, "remaining");
      nodes.failedStat = this.statistic(nodes.stats, labels.failedItems, "failed");
      show(nodes.failedStat.parentNode, false);
      show(nodes.stats, this.options.showDetails);
      nodes.root.appendChild(nodes.stats);

      nodes.message = el("div", "ui info message progress-polling-message", {
        role: "status",
        "aria-live": "polite",
      });
      show(nodes.message, false);
      nodes.root.appendChild(nodes.message);

      nodes.connection = el("div", "ui warning message progress-polling-connection", {
        role: "status",
        "aria-live": "polite",
      });
      nodes.connection.textContent = labels.connectionLost;
      show(nodes.connection, false);
      nodes.root.appendChild(nodes.connection);

      nodes.error = el("div", "ui negative message progress-polling-error", { role: "alert" });
      show(nodes.error, false);
      nodes.root.appendChild(nodes.error);

      while (this.container.firstChild) {
        this.container.removeChild(this.container.firstChild);
      }
      this.container.appendChild(nodes.root);
      this.nodes = nodes;
    }

    statistic(parent, label, name) {
      var item = el("div", "statistic progress-polling-" + name);
      var value = el("div", "value");
      value.textContent = "0";
      var caption = el("div", "label");
      caption.textContent = label;
      item.appendChild(value);
      item.appendChild(caption);
      parent.appendChild(item);
      return value;
    }

    update(data) {
      var nodes = this.nodes;
      var labels = this.labels;
      var status = String(data.status || "pending");
      var colour = STATUS_COLOURS[status] || "grey";
      var total = Number(data.total_items) || 0;
      var processed = Number(data.processed_items) || 0;
      var failed = Number(data.failed_items) || 0;
      var percent = Math.max(0, Math.min(100, Math.floor(Number(data.progress_percentage) || 0)));
      var running = status === "in_progress";
      var indeterminate = running && total === 0;

      this.showConnectionLost(false);
      nodes.root.setAttribute("data-status", status);
      nodes.status.textContent = labels[status] || status;
      setColour(nodes.status, colour);

      setColour(nodes.bar, colour);
      nodes.bar.classList.toggle("active", running && !indeterminate);
      nodes.bar.classList.toggle("indeterminate", indeterminate);
      nodes.bar.classList.toggle("success", status === "completed");
      nodes.bar.classList.toggle("error", status === "failed");
      nodes.bar.setAttribute("data-percent", String(percent));
      if (indeterminate) {
        nodes.bar.removeAttribute("aria-valuenow");
        nodes.fill.style.width = "100%";
        nodes.percent.textContent = "";
      } else {
        nodes.bar.setAttribute("aria-valuenow", String(percent));
        nodes.fill.style.width = percent + "%";
        nodes.percent.textContent = percent + "%";
      }
      nodes.counts.textContent = total
        ? formatNumber(processed + failed) + " / " + formatNumber(total)
        : formatNumber(processed + failed);

      nodes.total.textContent = total ? formatNumber(total) : labels.unknown;
      nodes.processed.textContent = formatNumber(processed);
      nodes.remaining.textContent = total
        ? formatNumber(Math.max(0, total - processed - failed))
        : labels.unknown;
      nodes.failedStat.textContent = formatNumber(failed);
      show(nodes.failedStat.parentNode, failed > 0);

      var eta = data.eta_seconds;
      if (running && typeof eta === "number" && isFinite(eta)) {
        nodes.eta.textContent = String(labels.eta).replace("{time}", formatSeconds(eta));
        show(nodes.eta, true);
      } else {
        show(nodes.eta, false);
      }

      var message = typeof data.current_message === "string" ? data.current_message : "";
      nodes.message.textContent = message;
      show(nodes.message, this.options.showStats && message !== "");

      if (status === "failed") {
        nodes.error.textContent = data.error ? String(data.error) : labels.jobFailed;
        show(nodes.error, true);
      } else {
        show(nodes.error, false);
      }
    }

    showConnectionLost(lost) {
      if (this.nodes) {
        show(this.nodes.connection, lost);
        this.nodes.root.classList.toggle("progress-polling-offline", lost);
      }
    }

    /**
     * Start a bar in every element under root carrying data-progress-job-id
     * (what the {% progress_bar %} tag renders); elements already started are
     * left alone. Returns the new instances.
     */
    static initAll(scope) {
      var base = scope || root.document;
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
  }

  // data-progress-* attribute → option (the template tag writes these).
  var DATA_OPTIONS = {
    "api-base": ["apiBase", "string"],
    title: ["title", "string"],
    icon: ["icon", "string"],
    "show-details": ["showDetails", "boolean"],
    "show-stats": ["showStats", "boolean"],
    "poll-interval": ["pollInterval", "number"],
    "auto-hide": ["autoHideOnComplete", "boolean"],
    "auto-hide-delay": ["autoHideDelay", "number"],
    debug: ["debug", "boolean"],
    "not-found-grace": ["notFoundGrace", "number"],
    "max-network-failures": ["maxNetworkFailures", "number"],
    labels: ["labels", "string"],
  };

  function optionsFrom(node) {
    var options = {};
    Object.keys(DATA_OPTIONS).forEach(function (attribute) {
      var raw = node.getAttribute("data-progress-" + attribute);
      if (raw === null) {
        return;
      }
      var name = DATA_OPTIONS[attribute][0];
      var kind = DATA_OPTIONS[attribute][1];
      if (kind === "boolean") {
        options[name] = raw === "" || raw === "true" || raw === "1";
      } else if (kind === "number") {
        options[name] = raw === "" ? raw : Number(raw);
      } else {
        options[name] = raw;
      }
    });
    return options;
  }

  ProgressPolling.Error = ProgressPollingError;
  ProgressPolling.LABELS = LABELS;
  ProgressPolling.DEFAULTS = DEFAULTS;

  root.ProgressPolling = ProgressPolling;
  if (typeof module === "object" && module.exports) {
    module.exports = ProgressPolling;
  }

  if (root.document) {
    if (root.document.readyState === "loading") {
      root.document.addEventListener("DOMContentLoaded", function () {
        ProgressPolling.initAll();
      });
    } else {
      ProgressPolling.initAll();
    }
  }
})(typeof window !== "undefined" ? window : this);
