// The seed's pattern: a button POSTs to a view, which answers
// {"success": true, "job_id": ...}; a ProgressPolling then follows the job.
// On load, ProgressPolling.restore() draws the jobs that already run (after a
// reload, the back button, in another tab), so a running job is never offered
// to start again.
(function () {
  "use strict";

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const cards = Array.from(document.querySelectorAll("[data-scenario]"));

  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
    }).then((response) => response.json());
  }

  function parts(card) {
    return {
      launcher: card.querySelector(".launcher"),
      start: card.querySelector("button.start"),
      cancel: card.querySelector("button.cancel"),
      download: card.querySelector("a.download"),
      bar: card.querySelector(".bar-container"),
    };
  }

  function reset(card) {
    const { launcher, start, cancel } = parts(card);
    delete card.dataset.jobId;
    if (cancel) cancel.hidden = true;
    start.classList.remove("loading");
    start.disabled = false;
    launcher.hidden = false;
  }

  // The card shows its job: no Start button while it runs.
  function running(card, jobId) {
    const { launcher, cancel, download } = parts(card);
    card.dataset.jobId = jobId;
    launcher.hidden = true;
    download.hidden = true;
    if (cancel) cancel.hidden = false;
  }

  // The bar's options for a card's job (a new one or a restored one).
  function barOptions(card) {
    const { download } = parts(card);
    return {
      title: card.dataset.title,
      icon: card.dataset.icon,
      pollInterval: 500,
      // A notification when the job ends while this tab is hidden.
      notifyWhenHidden: true,
      onComplete: (job) => {
        if (job.metadata && job.metadata.file) {
          download.href = card.dataset.downloadUrl.replace("JOB_ID", job.job_id);
          download.hidden = false;
        }
        setTimeout(() => reset(card), 2000);
      },
      onError: () => setTimeout(() => reset(card), 2000),
    };
  }

  cards.forEach((card) => {
    const { start, cancel, bar } = parts(card);
    start.addEventListener("click", async () => {
      // The click is the user's gesture: the moment to ask for notifications.
      if (window.Notification && Notification.permission === "default") {
        Notification.requestPermission();
      }
      start.classList.add("loading");
      start.disabled = true;
      try {
        const data = await post(card.dataset.startUrl);
        if (!data.success) throw new Error(data.message);
        running(card, data.job_id);
        new ProgressPolling(bar, data.job_id, barOptions(card));
      } catch (error) {
        console.error(error);
        reset(card);
      }
    });
    if (cancel) {
      cancel.addEventListener("click", async () => {
        cancel.classList.add("loading");
        try {
          await post(card.dataset.cancelUrl.replace("JOB_ID", card.dataset.jobId));
        } finally {
          cancel.classList.remove("loading");
          cancel.hidden = true;
        }
      });
    }
  });

  // The newest running job of each scenario gets its card's bar back.
  const byTaskType = new Map(cards.map((card) => [card.dataset.taskType, card]));
  ProgressPolling.restore({
    taskType: Array.from(byTaskType.keys()),
    container: (job) => {
      const card = byTaskType.get(job.task_type);
      if (!card || card.dataset.jobId) return null;
      running(card, job.job_id);
      return parts(card).bar;
    },
    options: (job) => barOptions(byTaskType.get(job.task_type)),
  })
    .catch((error) => console.error("cannot restore the running jobs:", error))
    .finally(() => {
      cards.forEach((card) => {
        if (!card.dataset.jobId) parts(card).start.disabled = false;
      });
    });
})();
