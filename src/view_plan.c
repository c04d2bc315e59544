/* view_plan.c — pending */
