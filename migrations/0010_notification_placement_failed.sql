-- A customer whose order could not be placed (order.placement_failed: the saga ended before
-- the order was created) is told so with a kind of notification of its own.
ALTER TABLE customer_notifications
  DROP CONSTRAINT customer_notifications_kind_check,
  ADD CONSTRAINT customer_notifications_kind_check
    CHECK (kind IN ('order_confirmed', 'order_cancelled', 'order_placement_failed', 'approval_needed'));
