// The seed's pattern: a button POSTs to a view, which answers
// {"success": true, "job_id": ...}; a ProgressPolling then follows the job.
(function () {
  "use strict";

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, "Accept": "application/json" },
    }).then((response) => response.json());
  }

  function setUp(card) {
    const launcher = card.querySelector(".launcher");
    const startButton = card.querySelector("button.start");
    const cancelButton = card.querySelector("button.cancel");
    const downloadLink = card.querySelector("a.download");
    const barId = "bar-" + card.dataset.scenario;
    let jobId = null;

    function reset() {
      if (cancelButton) cancelButton.hidden = true;
      startButton.classList.remove("loading", "disabled");
      launcher.hidden = false;
    }

    startButton.addEventListener("click", async () => {
      startButton.classList.add("loading", "disabled");
      downloadLink.hidden = true;
      try {
        const data = await post(card.dataset.startUrl);
        if (!data.success) throw new Error(data.message);
        jobId = data.job_id;
        card.dataset.jobId = jobId;
        launcher.hidden = true;
        if (cancelButton) cancelButton.hidden = false;
        new ProgressPolling(barId, jobId, {
          title: card.dataset.title,
          icon: card.dataset.icon,
          showDetails: true,
          showStats: true,
          pollInterval: 500,
          onComplete: (job) => {
            if (job.metadata && job.metadata.file) {
              downloadLink.href = card.dataset.downloadUrl.replace("JOB_ID", job.job_id);
              downloadLink.hidden = false;
            }
            setTimeout(reset, 2000);
          },
          onError: () => setTimeout(reset, 2000),
        });
      } catch (error) {
        console.error(error);
        reset();
      }
    });

    if (cancelButton) {
      cancelButton.addEventListener("click", async () => {
        cancelButton.classList.add("loading", "disabled");
        try {
          await post(card.dataset.cancelUrl.replace("JOB_ID", jobId));
        } finally {
          cancelButton.classList.remove("loading", "disabled");
          cancelButton.hidden = true;
        }
      });
    }
  }

  document.querySelectorAll("[data-scenario]").forEach(setUp);
})();
