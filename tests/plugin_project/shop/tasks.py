from celery import shared_task

from celery_progress_tracker import ProgressTask


@shared_task(base=ProgressTask, bind=True, name="shop.send_newsletter")
def send_newsletter(self, addresses):
    self.set_total(len(addresses))
    for address in addresses:
        if "@" in address:
            self.progress(1, f"sent to {address}")
        else:
            self.progress(0, f"bad address {address}", failed=1)
    if not addresses:
        raise ValueError("nobody to send to")
    return len(addresses)
