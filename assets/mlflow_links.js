/* Links the mlflow client prints ("View run at http://host/#/experiments/<id>/runs/<run_id>", MLflow UI routes)
   open the same experiment or run here. */
(function () {
    if (window.location.pathname !== "/") {
        return;
    }
    const route = /^#\/experiments\/([^/?#]+)(?:\/runs\/([^/?#]+))?/.exec(window.location.hash);
    if (route) {
        window.location.replace(route[2] ? "/runs/" + route[2] : "/experiments/" + route[1]);
    }
})();
